#!/usr/bin/env bash
# One side experiment next to Table 1: the same training and test evaluation as table1.sh for
# the algorithms and seeds given, with extra `irn train` flags, into docs/results/NAME/.
#
#   scripts/experiments/variant.sh NAME "ALGOS" "SEEDS" [irn train flags...]
#   e.g. scripts/experiments/variant.sh dense-adam "a3c-p irn-p" "1 2" --dense-adam
#
# Uses the data set table1.sh prepared in WORK_DIR (env WORK, default /tmp/irn-table1) and the
# same EPOCHS / PATIENCE / THREADS defaults. Summarised with table1_summary.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
IRN=${IRN:-.build/release/irn}
WORK=${WORK:-/tmp/irn-table1}
EPOCHS=${EPOCHS:-30}
PATIENCE=${PATIENCE:-10}
THREADS=${THREADS:-1}
NAME=$1 ALGOS=$2 SEEDS=$3; shift 3
RES=docs/results/$NAME
DATA=$WORK/data
[ -f "$DATA/dataset.json" ] || { echo "run scripts/experiments/table1.sh first (prepares $DATA)" >&2; exit 1; }
mkdir -p "$WORK/models-$NAME" "$RES/runs"
CMDS=$RES/commands.txt
. scripts/experiments/common.sh
for seed in $SEEDS; do
  for algo in $ALGOS; do
    model=$WORK/models-$NAME/$algo-s$seed.safetensors out=$RES/runs/$algo-s$seed.json
    [ -f "$out" ] && continue
    train=("$IRN" train --data "$DATA" --algo "$algo" --seed "$seed" --epochs "$EPOCHS" --patience "$PATIENCE"
           --threads "$THREADS" --out "$model" --quiet "$@")
    eval=("$IRN" eval --data "$DATA" --model "$model" --threads "$THREADS" --json)
    log_cmd "${train[*]}"
    log_cmd "${eval[*]} > $out"
    echo "== $NAME $algo seed $seed ($(date -u +%H:%M:%S))" >&2
    "${train[@]}" 2> "$WORK/models-$NAME/$algo-s$seed.train.txt" | tail -1 >&2
    compact_json "$model.log.json" "$RES/runs/$algo-s$seed.log.json"
    "${eval[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
  done
done
python3 scripts/experiments/table1_summary.py "$RES"
