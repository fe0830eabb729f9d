#!/usr/bin/env bash
# Builds FedStream's two container images from the distribution, without a Docker daemon and
# without pulling a base image (no container registry is reachable where the project is built):
#
#   fedstream/fedstream-worker:<version>  a site's image: the distribution without lab/ under
#                                         /opt/fedstream, entry point bin/fedstream (args: worker ...)
#   fedstream/fedstream-job:<version>     the job on Flink's image layout: /opt/flink/lib (the
#                                         Flink runtime, from the distribution), usrlib/flink-jobs.jar
#                                         (the shaded job), conf/, plugins/, /docker-entrypoint.sh
#
# The base layer is built here from Debian packages: a debootstrap minbase root file system of
# Debian 12 and a Java 17 runtime made with jlink from Debian's openjdk-17-jdk-headless (its
# jmods), user fedstream (1000:1000). umoci assembles the OCI images layer by layer, skopeo writes
# each as a docker-archive tar (loadable by `podman load` or `docker load`) under
# fedstream-dist/target/images/. Needs root and the Debian packages debootstrap, umoci and skopeo
# (apt-get install -y debootstrap umoci skopeo). The base root file system is cached in
# ${FEDSTREAM_IMAGE_CACHE:-~/.cache/fedstream/images}; delete it to rebuild it.
#
# Usage: scripts/build-images.sh [fedstream-VERSION.tar.gz]
#   default: fedstream-dist/target/fedstream-*.tar.gz (mvn -pl fedstream-dist -am package)
#        scripts/build-images.sh --base     only the cached base root file system
# docs/operations.md#container-images
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base_only=false
if [ "${1:-}" = --base ]; then
  base_only=true
  shift
fi
tarball="${1:-$(ls "$root"/fedstream-dist/target/fedstream-*.tar.gz 2>/dev/null | head -n 1 || true)}"
if ! $base_only && { [ -z "$tarball" ] || [ ! -f "$tarball" ]; }; then
  echo "build-images.sh: no distribution tarball: run mvn -pl fedstream-dist -am package or pass its path" >&2
  exit 2
fi
for tool in debootstrap umoci skopeo; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-images.sh: $tool not found: apt-get install -y debootstrap umoci skopeo" >&2
    exit 2
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "build-images.sh: needs root (debootstrap, and umoci keeps file owners only as root)" >&2
  exit 2
fi
version="$(basename "$tarball" .tar.gz)"
version="${version#fedstream-}"
jdk="${FEDSTREAM_IMAGE_JDK:-/usr/lib/jvm/java-17-openjdk-amd64}"
cache="${FEDSTREAM_IMAGE_CACHE:-$HOME/.cache/fedstream/images}"
out="$root/fedstream-dist/target/images"
work="$out/work"
rm -rf "$work"
mkdir -p "$out" "$work" "$cache"

# ---- the base: Debian 12 minbase and a jlink'ed Java 17 runtime --------------------------------
# The modules the CLI, DJL and Flink use (java.se; Unsafe; the vector API of the aggregation
# kernel; EC and Ed25519; JMX and JFR; DNS; the worker's health server; locales and charsets).
modules=java.se,jdk.unsupported,jdk.incubator.vector,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.management,jdk.management.agent,jdk.jfr,jdk.naming.dns,jdk.net,jdk.zipfs,jdk.security.auth,jdk.security.jgss,jdk.httpserver,jdk.charsets,jdk.localedata
base="$cache/rootfs-bookworm-jre17"
if [ ! -f "$base/.complete" ]; then
  echo "build-images.sh: building the base root file system (debootstrap, jlink)..." >&2
  rm -rf "$base"
  # libgomp1: OpenMP for PyTorch's native library (DJL)
  debootstrap --variant=minbase --include=libgomp1 bookworm "$base" \
    "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2
  rm -rf "$base"/var/cache/apt/archives/*.deb "$base"/var/lib/apt/lists/* \
    "$base"/usr/share/doc/* "$base"/usr/share/man/* "$base"/usr/share/info/* \
    "$base"/usr/share/locale/* "$base"/var/log/*
  "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress=2 --output "$base/opt/java"
  echo 'fedstream:x:1000:1000:FedStream:/home/fedstream:/usr/sbin/nologin' >>"$base/etc/passwd"
  echo 'fedstream:x:1000:' >>"$base/etc/group"
  mkdir -p "$base/home/fedstream"
  chown 1000:1000 "$base/home/fedstream"
  touch "$base/.complete"
fi
if $base_only; then
  echo "$base"
  exit 0
fi

layout="$work/oci"
umoci init --layout "$layout"
umoci new --image "$layout:base"
umoci unpack --image "$layout:base" "$work/bundle"
cp -a "$base/." "$work/bundle/rootfs/"
rm -f "$work/bundle/rootfs/.complete"
umoci repack --image "$layout:base" "$work/bundle"
rm -rf "$work/bundle"

dist="$work/dist"
mkdir -p "$dist"
tar -xzf "$tarball" -C "$dist" --strip-components=1

# Adds one layer: the files under $2 (a tree rooted at /) on top of image $1, as image $3.
add_layer() {
  local from="$1" tree="$2" to="$3"
  umoci unpack --image "$layout:$from" "$work/bundle"
  cp -a "$tree/." "$work/bundle/rootfs/"
  umoci repack --image "$layout:$to" "$work/bundle"
  rm -rf "$work/bundle"
}

common_env=(
  --config.env "JAVA_HOME=/opt/java"
  --config.env "PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  --config.env "LANG=C.UTF-8"
  --config.user "1000:1000"
  --author "FedStream scripts/build-images.sh"
)

# ---- the worker image ------------------------------------------------------------------------
tree="$work/worker-tree"
mkdir -p "$tree/opt"
cp -a "$dist" "$tree/opt/fedstream"
rm -rf "$tree/opt/fedstream/lab" # a site's image carries only what a site runs
chown -R 0:0 "$tree/opt/fedstream"
add_layer base "$tree" worker
umoci config --image "$layout:worker" "${common_env[@]}" \
  --config.env "FEDSTREAM_JAVA_OPTS=-XX:MaxRAMPercentage=75" \
  --config.env "HOME=/home/fedstream" \
  --config.entrypoint /opt/fedstream/bin/fedstream \
  --config.cmd --help \
  --config.workingdir /home/fedstream \
  --config.exposedports 8080/tcp \
  --config.label "org.opencontainers.image.title=fedstream-worker" \
  --config.label "org.opencontainers.image.version=$version"

# ---- the job image: Flink's layout -----------------------------------------------------------
flink="$work/flink-tree/opt/flink"
mkdir -p "$flink/lib" "$flink/conf" "$flink/plugins" "$flink/log" "$flink/usrlib"
tr ':' '\n' <"$dist/lib/flink.classpath" | while read -r jar || [ -n "$jar" ]; do
  if [ -n "$jar" ]; then cp "$dist/$jar" "$flink/lib/"; fi
done
cp "$root/scripts/images/flink-config.yaml" "$flink/conf/config.yaml"
cp "$root/scripts/images/log4j-console.properties" "$flink/conf/log4j-console.properties"
cp "$root/scripts/images/docker-entrypoint.sh" "$work/flink-tree/docker-entrypoint.sh"
chmod 0755 "$work/flink-tree/docker-entrypoint.sh"
chown -R 0:0 "$work/flink-tree"
# conf/ and log/ writable by the user, as in Flink's image (the operator mounts its own conf/)
chown -R 1000:1000 "$flink/conf" "$flink/log"
add_layer base "$work/flink-tree" flink
usrlib="$work/usrlib-tree/opt/flink/usrlib"
mkdir -p "$usrlib"
cp "$(ls "$dist"/job/flink-jobs-*-job.jar | head -n 1)" "$usrlib/flink-jobs.jar"
chown -R 0:0 "$work/usrlib-tree"
add_layer flink "$work/usrlib-tree" job
umoci config --image "$layout:job" "${common_env[@]}" \
  --config.env "FLINK_HOME=/opt/flink" \
  --config.env "FLINK_PLUGINS_DIR=/opt/flink/plugins" \
  --config.entrypoint /docker-entrypoint.sh \
  --config.cmd --help \
  --config.workingdir /opt/flink \
  --config.exposedports 6123/tcp --config.exposedports 8081/tcp \
  --config.label "org.opencontainers.image.title=fedstream-job" \
  --config.label "org.opencontainers.image.version=$version"

# ---- write them ------------------------------------------------------------------------------
for image in worker job; do
  file="$out/fedstream-$image-$version.tar"
  rm -f "$file"
  skopeo copy --quiet "oci:$layout:$image" \
    "docker-archive:$file:fedstream/fedstream-$image:$version"
  echo "$file ($(du -m "$file" | cut -f1) MB): fedstream/fedstream-$image:$version"
done
rm -rf "$work"
