#!/usr/bin/env bash
# Store benchmark (bench/store_bench.cpp) on the release preset: 10 KB messages per second with
# group commit over N submitters, against one commit per message, against this disk's fdatasync
# rate, all measured in the same run and directory. Arguments go to the benchmark, e.g.
#   bench/store.sh --dir /var/lib/sinetti --seconds 10 --submitters 1,16,64
set -euo pipefail
cd "$(dirname "$0")/.."
test -f build/release/build.ninja || cmake --preset release >/dev/null
cmake --build build/release -j2 --target sinetti_store_bench >/dev/null
dir=$(mktemp -d "${TMPDIR:-/tmp}/sinetti-store-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
build/release/bench/sinetti_store_bench --dir "$dir" "$@"
