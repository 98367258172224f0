#!/usr/bin/env bash
# Sealing throughput against OpenSSL's own AES-256-GCM measured in the same run:
#   bench/seal.sh [SECONDS]        (build first: cmake --preset release && cmake --build build/release -j2)
# Prints our large-message seal/open MB/s as a fraction of `openssl speed -evp aes-256-gcm` at its
# largest block size (target: at least 70 %), and the 10 KB messages/s. Reports only; never fails on
# a slow figure.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-3}"
build_dir="${BUILD_DIR:-build/release}"
bench="$build_dir/bench/sinetti_bench_seal"
if [ ! -x "$bench" ]; then
  echo "seal.sh: $bench not found; run: cmake --preset release && cmake --build $build_dir -j2 --target sinetti_bench_seal" >&2
  exit 1
fi

echo "== sinetti_bench_seal ($bench)"
ours=$("$bench" --small-seconds "$seconds")
echo "$ours"

echo "== openssl speed -evp aes-256-gcm -seconds $seconds ($(openssl version))"
speed=$(openssl speed -evp aes-256-gcm -seconds "$seconds" 2>/dev/null)
echo "$speed" | tail -n 2

# The header row names the block sizes ("type 16 bytes ... 16384 bytes"); the data row holds
# thousands of bytes per second ("3914137.60k"). Take the last (largest) column of each.
block=$(echo "$speed" | awk '/^type/ {print $(NF-1)}')
openssl_kBps=$(echo "$speed" | awk '/^AES-256-GCM/ {v=$NF; sub(/k$/, "", v); print v}')
if [ -z "$block" ] || [ -z "$openssl_kBps" ]; then
  echo "seal.sh: could not parse openssl speed output" >&2
  exit 1
fi

value() { echo "$ours" | awk -v k="$1" '$1 == k {print $2}'; }
seal=$(value seal_large_MBps)
open=$(value open_large_MBps)
awk -v seal="$seal" -v open="$open" -v ossl="$openssl_kBps" -v block="$block" \
    -v ss="$(value seal_small_msgs_per_s)" -v os="$(value open_small_msgs_per_s)" -v sb="$(value small_message_bytes)" 'BEGIN {
  ossl_MBps = ossl / 1000
  printf "== summary\n"
  printf "openssl aes-256-gcm (%s-byte blocks): %.1f MB/s\n", block, ossl_MBps
  printf "seal, large messages: %.1f MB/s = %.0f %% of openssl (target >= 70 %%)\n", seal, 100 * seal / ossl_MBps
  printf "open, large messages: %.1f MB/s = %.0f %% of openssl (target >= 70 %%)\n", open, 100 * open / ossl_MBps
  printf "%s-byte messages incl. data key and key wrap: seal %s msgs/s, open %s msgs/s\n", sb, ss, os
}'
