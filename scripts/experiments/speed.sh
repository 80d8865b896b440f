#!/usr/bin/env bash
# Speed checks of issue 4 at paper scale (9,167 items, H 256, M 128), release build:
#  - `irn bench train --algo irn-p`: whole training loop vs bare iteration (must be within 20%);
#  - `irn eval` on a paper-scale synthetic prepared set (>= 20,000 ranked test events/s).
# Output: docs/results/speed/. WORK_DIR (default /tmp/irn-speed) holds the synthetic set and model.
set -euo pipefail
cd "$(dirname "$0")/../.."
IRN=${IRN:-.build/release/irn}
WORK=${1:-/tmp/irn-speed}
RES=docs/results/speed
mkdir -p "$WORK" "$RES"
: > "$RES/commands.txt"
run() { local out=$1; shift; echo "$* > $RES/$out" | sed "s#^$IRN #irn #" >> "$RES/commands.txt"; "$@" > "$RES/$out"; }
run bench-train-irn-p-1thread.json "$IRN" bench train --algo irn-p --threads 1 --eval-threads 0 --json
run bench-train-irn-p-2threads.json "$IRN" bench train --algo irn-p --threads 2 --eval-threads 0 --json
run bench-train-save.json "$IRN" bench train --algo irn-p --blocks 1 --block-iterations 5 --warmup 0 --eval-threads 0 \
    --save-data "$WORK/paper" --save-model "$WORK/paper-irn-p.safetensors" --json
run eval-paper-2threads.txt "$IRN" eval --data "$WORK/paper" --model "$WORK/paper-irn-p.safetensors" --threads 2
run eval-paper-1thread.txt "$IRN" eval --data "$WORK/paper" --model "$WORK/paper-irn-p.safetensors" --threads 1
cat "$RES"/*.json "$RES"/eval-*.txt
