#!/usr/bin/env bash
# Fails, naming the cycle, when the io.fedstream packages of the built main classes depend on each
# other in a cycle, across all modules (a package of one module that depends on a package of
# another counts as much as two packages of one module). Reads target/classes of every module, so
# build first:  mvn install -DskipTests
#
# How: jdeps -verbose:package lists the package-to-package dependencies of the bytecode (what the
# compiler kept, so imports used only by javadoc do not count); awk finds the strongly connected
# components of that graph (Tarjan) and, for each component of more than one package, a shortest
# cycle through it.
#
# Usage: scripts/check-package-cycles.sh [classes-dir ...]   (default: */target/classes)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -gt 0 ]; then
    dirs=("$@")
else
    dirs=()
    for d in */target/classes; do
        [ -d "$d" ] && dirs+=("$d")
    done
fi
if [ "${#dirs[@]}" -eq 0 ]; then
    echo "check-package-cycles: no target/classes found; build first (mvn install -DskipTests)" >&2
    exit 2
fi

for d in "${dirs[@]}"; do
    if [ ! -d "$d" ]; then
        echo "check-package-cycles: $d is not a directory" >&2
        exit 2
    fi
done
if ! deps="$(jdeps -verbose:package -e 'io\.fedstream\..*' "${dirs[@]}" 2>&1)"; then
    printf '%s\n' "$deps" >&2
    echo "check-package-cycles: jdeps failed" >&2
    exit 2
fi
edges="$(printf '%s\n' "$deps" |
    awk '$2 == "->" && $1 ~ /^io\.fedstream\./ && $3 ~ /^io\.fedstream\./ && $1 != $3 {
        print $1, $3 }' | sort -u)"

printf '%s\n' "$edges" | awk -v dirs="${#dirs[@]}" '
function strong(v,    i, w, n, members) {
    index_[v] = next_index; low[v] = next_index; next_index++
    stack[++top] = v; on_stack[v] = 1
    for (i = 1; i <= outdeg[v]; i++) {
        w = out[v, i]
        if (!(w in index_)) {
            strong(w)
            if (low[w] < low[v]) low[v] = low[w]
        } else if (on_stack[w] && index_[w] < low[v]) {
            low[v] = index_[w]
        }
    }
    if (low[v] == index_[v]) {
        n = 0; members = ""
        do {
            w = stack[top--]; on_stack[w] = 0
            component[w] = v; n++
            members = members (members == "" ? "" : " ") w
        } while (w != v)
        if (n > 1) { cyclic[++cycles] = v; size[v] = n; names[v] = members }
    }
}
# a shortest cycle through start, inside its component (breadth-first)
function cycle_through(start,    head, tail, queue, parent, seen, v, i, w, path) {
    head = 1; tail = 0; split("", parent); split("", seen)
    queue[++tail] = start; seen[start] = 1
    while (head <= tail) {
        v = queue[head++]
        for (i = 1; i <= outdeg[v]; i++) {
            w = out[v, i]
            if (component[w] != component[start]) continue
            if (w == start) {
                path = start
                while (v != start) { path = v " -> " path; v = parent[v] }
                return start " -> " path
            }
            if (!(w in seen)) { seen[w] = 1; parent[w] = v; queue[++tail] = w }
        }
    }
    return "(none)"
}
NF == 2 {
    out[$1, ++outdeg[$1]] = $2
    node[$1] = 1; node[$2] = 1
    edge[$1, $2] = 1
}
END {
    next_index = 0; top = 0; cycles = 0
    for (v in node) if (!(v in index_)) strong(v)
    n_nodes = 0; for (v in node) n_nodes++
    if (cycles == 0) {
        printf "package cycles: OK, none among %d dependent io.fedstream packages (%d class directories)\n", n_nodes, dirs
        exit 0
    }
    printf "package cycles: %d cycle(s) among %d dependent io.fedstream packages\n", cycles, n_nodes
    for (c = 1; c <= cycles; c++) {
        v = cyclic[c]
        printf "cycle %d: %d packages {%s}\n", c, size[v], names[v]
        printf "  e.g. %s\n", cycle_through(v)
    }
    exit 1
}'
