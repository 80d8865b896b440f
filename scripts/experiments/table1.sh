#!/usr/bin/env bash
# Table 1 on the real 1% YooChoose sample: the five agents over several seeds (epochs picked
# on the valid split by `irn train`, then `irn eval` on test) beside spop and pop.
#
#   scripts/experiments/table1.sh [WORK_DIR]
#
# WORK_DIR (default /tmp/irn-table1) receives the prepared data, the models and their logs;
# per-run evaluation JSON and the summary go to docs/results/table1/ (every figure there comes
# from a command printed in docs/results/table1/commands.txt). Runs whose result exists are
# skipped, so the script can be resumed. Runs are sequential and single-threaded (shared
# machine; --threads 1 also makes every model bit-reproducible).
# Environment: IRN (default .build/release/irn), SEEDS_MAIN (default "1 2 3 4 5": A3C-P and
# IRN-P, the paper's central comparison), SEEDS (default "1 2 3": the others), EPOCHS (30),
# PATIENCE (10), THREADS (1).
set -euo pipefail
cd "$(dirname "$0")/../.."
IRN=${IRN:-.build/release/irn}
WORK=${1:-/tmp/irn-table1}
SEEDS_MAIN=${SEEDS_MAIN:-"1 2 3 4 5"}
SEEDS=${SEEDS:-"1 2 3"}
EPOCHS=${EPOCHS:-30}
PATIENCE=${PATIENCE:-10}
THREADS=${THREADS:-1}
RES=docs/results/table1
DATA=$WORK/data
mkdir -p "$WORK/models" "$RES/runs"
CMDS=$RES/commands.txt
. scripts/experiments/common.sh
require_irn
prepare_real_sample "$DATA"

# Baselines (trained on train, as `irn baseline` does for --split test).
for m in spop pop; do
  out=$RES/runs/baseline-$m.json
  [ -f "$out" ] && continue
  cmd=("$IRN" baseline --data "$DATA" --method "$m" --threads "$THREADS" --json)
  log_cmd "${cmd[*]} > $out"
  "${cmd[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
done

# One agent run: train (best epoch on valid), then evaluate on test.
run() {  # name algo seed extra-flags...
  local name=$1 algo=$2 seed=$3; shift 3
  local model=$WORK/models/$name-s$seed.safetensors out=$RES/runs/$name-s$seed.json
  [ -f "$out" ] && return 0
  local train=("$IRN" train --data "$DATA" --algo "$algo" --seed "$seed" --epochs "$EPOCHS" --patience "$PATIENCE"
               --threads "$THREADS" --out "$model" --quiet "$@")
  local eval=("$IRN" eval --data "$DATA" --model "$model" --threads "$THREADS" --json)
  log_cmd "${train[*]}"
  log_cmd "${eval[*]} > $out"
  echo "== $name seed $seed ($(date -u +%H:%M:%S))" >&2
  "${train[@]}" 2> "$WORK/models/$name-s$seed.train.txt" | tail -1 >&2
  compact_json "$model.log.json" "$RES/runs/$name-s$seed.log.json"
  "${eval[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
}

for s in $SEEDS_MAIN; do run a3c-p a3c-p "$s"; run irn-p irn-p "$s"; done
for s in $SEEDS; do
  run prn-p-w1 prn-p "$s" --irn-weight 1
  run irn-p-d0 irn-p "$s" --reward-density 0
  run a3c-f a3c-f "$s"
  run irn-f irn-f "$s"
done

python3 scripts/experiments/table1_summary.py "$RES"
