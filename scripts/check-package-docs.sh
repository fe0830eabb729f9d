#!/usr/bin/env bash
# Fails, naming each one, when a package of main code has no package-info.java saying what it
# holds (and, where it applies, which of its names are frozen: see io.fedstream.job's).
# Usage: scripts/check-package-docs.sh
set -euo pipefail
cd "$(dirname "$0")/.."

missing=0
while IFS= read -r dir; do
    if [ ! -f "$dir/package-info.java" ]; then
        echo "check-package-docs: no package-info.java in $dir" >&2
        missing=$((missing + 1))
    fi
done < <(git ls-files '*/src/main/java/*.java' | xargs -n1 dirname | sort -u)

if [ "$missing" -gt 0 ]; then
    echo "check-package-docs: $missing package(s) without package-info.java" >&2
    exit 1
fi
echo "check-package-docs: every main package has a package-info.java"
