#!/usr/bin/env bash
# Issue 16: the repeat-next head (docs/algorithm.md#repeat-next-head) on the real 1% YooChoose
# sample, the dev split of docs/results/README.md. Same protocol as repeat.sh (agents trained on
# train_tr, the epoch kept is the best valid purchase MRR@5, evaluated on test), then the final
# retrain on all of train for the mean kept epoch count (--patience 0 --keep last).
#
#   scripts/experiments/next.sh [WORK_DIR]
#
# Order (a cut-short run still leaves whole comparisons):
#   1. baselines on test: spop, spop-markov, cknn (trained on train)
#   2. per seed: IRN-P with --head repeat-next
#   3. per seed: the new head on A3C-P and PRN-P (w = 1), and the ablations on A3C-P (as
#      repeat.sh's; each candidate feature left out in turn, both gates constant)
#   4. retrain on train (RETRAIN_SEEDS): IRN-P repeat-next and repeat
#   5. per seed: IRN-P with --head repeat and plain. The plain and repeat heads are
#      bit-identical to before (Tests/IRNAgentsTests/RepeatPlainHeadUnchangedTests.swift), so
#      these rerun docs/results/repeat/'s irn-p-repeat / irn-p-plain with the same commands;
#      next_check.py takes the repeat head's figures from there when stage 5 has not run.
#   6. (INIT_SEEDS, default SEEDS) the candidate gate started away from 0 (--next-gate-init):
#      b_n = (1,0,0,2) and (2,0,0,5), i.e. reached followers of the last item start above the
#      other non-session items, ordered by s(last, j), as spop-markov ranks them.
#   7. the supervised next-click term (CLICK_FLAGS, default --click-weight 0.1, picked on
#      valid by stage 9): IRN-P per seed, A3C-P and PRN-P (w = 1) per ABL_SEEDS.
#   8. retrain on train (RETRAIN_SEEDS): IRN-P repeat-next with the click term. Run it after
#      stage 7 has finished in every lane (the epoch count is the mean of stage 7's).
#   9. (SWEEP_SEEDS, default "1 2") the click term's weight and scope on valid: IRN-P with
#      --click-weight 0.3, 1 and 1 with --click-scope gates; sweep.md lists their valid
#      figures at the kept epoch beside stage 2's (weight 0) and stage 7's (0.1).
#  10. the weight average (AVG_FLAGS, default --average-weights 0.99): IRN-P repeat-next with
#      the click term, and the repeat head, per seed (valid runs).
#  11. their retrain on train (RETRAIN_SEEDS); after stage 10 has finished in every lane.
#  12. (ABL_SEEDS) stage 3's ablations again, on A3C-P with the click term and the average
#      (each candidate feature left out in turn, both gates constant), and PRN-P (w = 1).
#  13. (SEEDS) the click term's weight with the average, on valid: IRN-P repeat-next with
#      --click-weight 0.2 and 0.3 and AVG_FLAGS. next_sweep.py picks, among 0.1 (stage 10),
#      0.2 and 0.3, the weight with the best valid click R@5 whose valid purchase MRR@5 is at
#      most 0.01 below the repeat head's with the average (stage 10): issue 16's purchase
#      budget, applied on valid.
#  14. the retrain on train (RETRAIN_SEEDS) of stage 13's pick when it is a weight other than
#      0.1 (stage 11 has 0.1's, stage 17 the co-occurrence source's); after stages 13 and 16.
#  15. repeats and new items on test (irn eval --targets-session repeat|new): the baselines and
#      the retrained IRN-P models of stages 4, 11 and 14 (RETRAIN_SEEDS). A model no longer on
#      disk is trained again by its logged command (see session_split: on another CPU it is
#      not runs/'s model bit for bit); next_session.py writes session.md.
#  16. (SEEDS) the session feature from co-occurrences (--next-session-source cooccurrence):
#      IRN-P repeat-next with CLICK_FLAGS and AVG_FLAGS, on valid; next_sweep.py's pick rule
#      (as stage 13's) decides between it and stage 10's transitions.
#  17. its retrain on train (RETRAIN_SEEDS), after stage 16 has finished in every lane, and its
#      repeats / new items on test (as stage 15; a seed whose retrain another lane has not
#      finished is skipped: run the stage again once every lane is done).
#  18. (ABL_SEEDS) the co-occurrence source with CLICK_FLAGS and AVG_FLAGS on A3C-P and PRN-P
#      (w = 1), and A3C-P without the session feature (the one the source changes), valid runs.
#  19. (ABL_SEEDS) stage 18's A3C-P without each of the other candidate features in turn and
#      with both gates constant.
# LANE=i/n runs only every n-th run starting at the i-th (0-based), so n copies of the script
# can share the work (e.g. LANE=0/2 and LANE=1/2 side by side); summaries are shared.
# Runs whose result exists are skipped, so the script can be resumed. Per-run evaluation JSON,
# training logs, table1.md / table1.json (table1_summary.py) and check.md / check.json go to
# docs/results/next/; every command is appended to docs/results/next/commands.txt.
# Environment: IRN (default .build/release/irn), SEEDS ("1 2 3 4 5"), ABL_SEEDS (SEEDS),
# RETRAIN_SEEDS (SEEDS), SWEEP_SEEDS ("1 2"), CLICK_FLAGS ("--click-weight 0.1"), EPOCHS (25),
# AVG_FLAGS ("--average-weights 0.99"), PATIENCE (8), THREADS (1), STAGES ("1 2 ... 19").
set -euo pipefail
cd "$(dirname "$0")/../.."
IRN=${IRN:-.build/release/irn}
WORK=${1:-/tmp/irn-next}
SEEDS=${SEEDS:-"1 2 3 4 5"}
ABL_SEEDS=${ABL_SEEDS:-$SEEDS}
RETRAIN_SEEDS=${RETRAIN_SEEDS:-$SEEDS}
EPOCHS=${EPOCHS:-25}
PATIENCE=${PATIENCE:-8}
THREADS=${THREADS:-1}
STAGES=${STAGES:-"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19"}
SWEEP_SEEDS=${SWEEP_SEEDS:-"1 2"}
read -r -a CLICK <<< "${CLICK_FLAGS:---click-weight 0.1}"
read -r -a AVG <<< "${AVG_FLAGS:---average-weights 0.99}"
INIT_SEEDS=${INIT_SEEDS:-$SEEDS}
LANE=${LANE:-0/1}
LANE_I=${LANE%/*} LANE_N=${LANE#*/} RUN_NO=-1
METRIC=purchase-mrr@5
RES=docs/results/next
DATA=$WORK/data
mkdir -p "$WORK/models" "$RES/runs" "$RES/valid" "$RES/session"
CMDS=$RES/commands.txt
. scripts/experiments/common.sh
require_irn
prepare_real_sample "$DATA"
stage() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

summarise() {
  python3 scripts/experiments/table1_summary.py "$RES" > /dev/null
  python3 scripts/experiments/next_check.py "$RES" > /dev/null
  python3 scripts/experiments/next_sweep.py "$RES" > /dev/null
  python3 scripts/experiments/next_session.py "$RES" > /dev/null
}

baseline() {  # method [valid]
  local out=$RES/runs/baseline-$1.json split=()
  [ "${2:-}" = valid ] && { out=$RES/valid/baseline-$1.json; split=(--split valid); }
  [ -f "$out" ] && return 0
  local cmd=("$IRN" baseline --data "$DATA" --method "$1" "${split[@]}" --threads "$THREADS" --json)
  log_cmd "${cmd[*]} > $out"
  "${cmd[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
}

# One agent run: train (best epoch on valid purchase MRR@5 unless flags say otherwise), then
# evaluate on test.
run() {  # name algo seed extra-flags...
  local name=$1 algo=$2 seed=$3; shift 3
  local model=$WORK/models/$name-s$seed.safetensors out=$RES/runs/$name-s$seed.json
  RUN_NO=$((RUN_NO + 1))
  [ $((RUN_NO % LANE_N)) -eq "$LANE_I" ] || return 0
  [ -f "$out" ] && return 0
  local train=("$IRN" train --data "$DATA" --algo "$algo" --seed "$seed" --valid-metric "$METRIC"
               --threads "$THREADS" --out "$model" --quiet "$@")
  local eval=("$IRN" eval --data "$DATA" --model "$model" --threads "$THREADS" --json)
  log_cmd "${train[*]}"
  log_cmd "${eval[*]} > $out"
  echo "== $name seed $seed ($(date -u +%H:%M:%S))" >&2
  "${train[@]}" 2> "$WORK/models/$name-s$seed.train.txt" | tail -1 >&2
  compact_json "$model.log.json" "$RES/runs/$name-s$seed.log.json"
  "${eval[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
  summarise
}
valid_run() { local n=$1 a=$2 s=$3; shift 3; run "$n" "$a" "$s" --epochs "$EPOCHS" --patience "$PATIENCE" "$@"; }

# The retrain's epoch count: the mean epoch kept on valid by the name's runs, rounded.
kept_epochs() {
  python3 - "$RES" "$1" <<'PY'
import glob, json, os, sys
res, name = sys.argv[1], sys.argv[2]
paths = glob.glob(os.path.join(res, "runs", name + "-s*.log.json"))
if not paths:  # the repeat and plain heads' valid runs may be docs/results/repeat/'s (see stage 5)
    paths = glob.glob(os.path.join("docs/results/repeat/runs", name + "-s*.log.json"))
e = [json.load(open(p))["bestEpoch"] for p in paths]
print(round(sum(e) / len(e)) if e else 0)
PY
}
retrain() {  # name-of-valid-runs algo seed flags...
  local name=$1 algo=$2 seed=$3; shift 3
  local n; n=$(kept_epochs "$name")
  [ "$n" -ge 1 ] || { echo "no valid runs of $name yet: skipping its retrain" >&2; return 0; }
  run "retrain-$name" "$algo" "$seed" --train-split train --epochs "$n" --patience 0 --keep last "$@"
}

# Stage 15's figures of one retrained model on test: all events (session/<name>-s<seed>.all.json,
# the model actually split) and its repeats and new items. A model no longer on disk is trained
# again by its logged command: bit for bit on the machine that made runs/, but another CPU's
# OpenBLAS kernels round differently, so all.json, not runs/, holds the split model's figures.
session_split() {  # name seed
  local name=$1 seed=$2 model=$WORK/models/$1-s$2.safetensors
  RUN_NO=$((RUN_NO + 1))
  [ $((RUN_NO % LANE_N)) -eq "$LANE_I" ] || return 0
  [ -f "$RES/session/$name-s$seed.new.json" ] && return 0
  [ -f "$RES/runs/$name-s$seed.json" ] || { echo "no test run of $name seed $seed: skipping" >&2; return 0; }
  if [ ! -f "$model" ]; then
    local train
    train=$(grep -F -- "--out $model " "$CMDS" | tail -1 | sed "s#^irn #$IRN #")
    [ -n "$train" ] || { echo "no logged command for $model" >&2; return 1; }
    echo "== retraining $name seed $seed for stage 15 ($(date -u +%H:%M:%S))" >&2
    eval "$train" 2> /dev/null | tail -1 >&2
    rm -f "${model%.safetensors}.checkpoint.safetensors"
  fi
  for t in all repeat new; do
    local cmd=("$IRN" eval --data "$DATA" --model "$model" --threads "$THREADS" --json)
    [ "$t" = all ] || cmd+=(--targets-session "$t")
    log_cmd "${cmd[*]} > $RES/session/$name-s$seed.$t.json"
    "${cmd[@]}" > "$RES/session/$name-s$seed.$t.json.tmp" && mv "$RES/session/$name-s$seed.$t.json.tmp" "$RES/session/$name-s$seed.$t.json"
  done
}

# The configuration next_sweep.py picked (stages 13 and 16), by its valid runs' name; empty
# before every candidate has all its seeds.
picked() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("pick", {}).get("name", ""))' "$RES/sweep.json"
}

if stage 1; then
  for m in spop spop-markov cknn; do baseline "$m"; baseline "$m" valid; done
  summarise
fi

if stage 2; then
  for s in $SEEDS; do
    valid_run irn-p-next irn-p "$s" --head repeat-next
  done
fi

if stage 3; then
  for s in $ABL_SEEDS; do
    valid_run a3c-p-next a3c-p "$s" --head repeat-next
    valid_run a3c-p-next-nolast a3c-p "$s" --head repeat-next --next-features share,session,follow
    valid_run a3c-p-next-noshare a3c-p "$s" --head repeat-next --next-features last,session,follow
    valid_run a3c-p-next-nosession a3c-p "$s" --head repeat-next --next-features last,share,follow
    valid_run a3c-p-next-nofollow a3c-p "$s" --head repeat-next --next-features last,share,session
    valid_run a3c-p-next-gateconst a3c-p "$s" --head repeat-next --repeat-gate constant
    valid_run prn-p-w1-next prn-p "$s" --head repeat-next --irn-weight 1
  done
fi

if stage 4; then
  for s in $RETRAIN_SEEDS; do
    retrain irn-p-next irn-p "$s" --head repeat-next
    retrain irn-p-repeat irn-p "$s" --head repeat
  done
fi

if stage 5; then
  for s in $SEEDS; do
    valid_run irn-p-repeat irn-p "$s" --head repeat
    valid_run irn-p-plain irn-p "$s" --head plain
  done
fi

if stage 6; then
  for s in $INIT_SEEDS; do
    valid_run a3c-p-next-init1002 a3c-p "$s" --head repeat-next --next-gate-init 1,0,0,2
    valid_run a3c-p-next-init2005 a3c-p "$s" --head repeat-next --next-gate-init 2,0,0,5
    valid_run irn-p-next-init1002 irn-p "$s" --head repeat-next --next-gate-init 1,0,0,2
    valid_run irn-p-next-init2005 irn-p "$s" --head repeat-next --next-gate-init 2,0,0,5
  done
fi

if stage 7; then
  for s in $SEEDS; do
    valid_run irn-p-next-click irn-p "$s" --head repeat-next "${CLICK[@]}"
  done
  for s in $ABL_SEEDS; do
    valid_run a3c-p-next-click a3c-p "$s" --head repeat-next "${CLICK[@]}"
    valid_run prn-p-w1-next-click prn-p "$s" --head repeat-next --irn-weight 1 "${CLICK[@]}"
  done
fi

if stage 8; then
  for s in $RETRAIN_SEEDS; do
    retrain irn-p-next-click irn-p "$s" --head repeat-next "${CLICK[@]}"
  done
fi

if stage 9; then
  for s in $SWEEP_SEEDS; do
    valid_run irn-p-next-cw0.3 irn-p "$s" --head repeat-next --click-weight 0.3
    valid_run irn-p-next-cw1 irn-p "$s" --head repeat-next --click-weight 1
    valid_run irn-p-next-cw1-gates irn-p "$s" --head repeat-next --click-weight 1 --click-scope gates
  done
fi

if stage 10; then
  for s in $SEEDS; do
    valid_run irn-p-next-click-avg irn-p "$s" --head repeat-next "${CLICK[@]}" "${AVG[@]}"
    valid_run irn-p-repeat-avg irn-p "$s" --head repeat "${AVG[@]}"
  done
fi

if stage 11; then
  for s in $RETRAIN_SEEDS; do
    retrain irn-p-next-click-avg irn-p "$s" --head repeat-next "${CLICK[@]}" "${AVG[@]}"
    retrain irn-p-repeat-avg irn-p "$s" --head repeat "${AVG[@]}"
  done
fi

if stage 12; then
  for s in $ABL_SEEDS; do
    F=(--head repeat-next "${CLICK[@]}" "${AVG[@]}")
    valid_run a3c-p-next-click-avg a3c-p "$s" "${F[@]}"
    valid_run a3c-p-next-click-avg-nolast a3c-p "$s" "${F[@]}" --next-features share,session,follow
    valid_run a3c-p-next-click-avg-noshare a3c-p "$s" "${F[@]}" --next-features last,session,follow
    valid_run a3c-p-next-click-avg-nosession a3c-p "$s" "${F[@]}" --next-features last,share,follow
    valid_run a3c-p-next-click-avg-nofollow a3c-p "$s" "${F[@]}" --next-features last,share,session
    valid_run a3c-p-next-click-avg-gateconst a3c-p "$s" "${F[@]}" --repeat-gate constant
    valid_run prn-p-w1-next-click-avg prn-p "$s" "${F[@]}" --irn-weight 1
  done
fi

if stage 13; then
  for s in $SEEDS; do
    for w in 0.2 0.3; do
      valid_run "irn-p-next-cw$w-avg" irn-p "$s" --head repeat-next --click-weight "$w" "${AVG[@]}"
    done
  done
fi

if stage 14; then
  pick=$(picked)
  case "$pick" in  # 0.1's retrain is stage 11's, the co-occurrence source's stage 17's
    irn-p-next-cw*-avg)
      w=${pick#irn-p-next-cw}; w=${w%-avg}
      for s in $RETRAIN_SEEDS; do
        retrain "$pick" irn-p "$s" --head repeat-next --click-weight "$w" "${AVG[@]}"
      done ;;
  esac
fi

if stage 15; then
  for m in spop spop-markov cknn; do
    [ "$LANE_I" = 0 ] || break  # one lane writes the baselines' files
    for t in all repeat new; do
      out=$RES/session/baseline-$m.$t.json
      [ -f "$out" ] && continue
      cmd=("$IRN" baseline --data "$DATA" --method "$m" --threads "$THREADS" --json)
      [ "$t" = all ] || cmd+=(--targets-session "$t")
      log_cmd "${cmd[*]} > $out"
      "${cmd[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
    done
  done
  pick=$(picked)
  for s in $RETRAIN_SEEDS; do
    for n in retrain-irn-p-repeat-avg retrain-irn-p-next retrain-irn-p-next-click-avg; do session_split "$n" "$s"; done
    case "$pick" in irn-p-next-cw*-avg) session_split "retrain-$pick" "$s" ;; esac  # stage 14's retrain
  done
  summarise
fi

if stage 16; then
  for s in $SEEDS; do
    valid_run irn-p-next-cooc-click-avg irn-p "$s" --head repeat-next --next-session-source cooccurrence "${CLICK[@]}" "${AVG[@]}"
  done
fi

if stage 17; then
  for s in $RETRAIN_SEEDS; do
    retrain irn-p-next-cooc-click-avg irn-p "$s" --head repeat-next --next-session-source cooccurrence "${CLICK[@]}" "${AVG[@]}"
  done
  for s in $RETRAIN_SEEDS; do session_split retrain-irn-p-next-cooc-click-avg "$s"; done
  summarise
fi

if stage 18; then
  for s in $ABL_SEEDS; do
    F=(--head repeat-next --next-session-source cooccurrence "${CLICK[@]}" "${AVG[@]}")
    valid_run a3c-p-next-cooc-click-avg a3c-p "$s" "${F[@]}"
    valid_run prn-p-w1-next-cooc-click-avg prn-p "$s" "${F[@]}" --irn-weight 1
    valid_run a3c-p-next-cooc-click-avg-nosession a3c-p "$s" "${F[@]}" --next-features last,share,follow
  done
fi

if stage 19; then
  for s in $ABL_SEEDS; do
    F=(--head repeat-next --next-session-source cooccurrence "${CLICK[@]}" "${AVG[@]}")
    valid_run a3c-p-next-cooc-click-avg-nolast a3c-p "$s" "${F[@]}" --next-features share,session,follow
    valid_run a3c-p-next-cooc-click-avg-noshare a3c-p "$s" "${F[@]}" --next-features last,session,follow
    valid_run a3c-p-next-cooc-click-avg-nofollow a3c-p "$s" "${F[@]}" --next-features last,share,session
    valid_run a3c-p-next-cooc-click-avg-gateconst a3c-p "$s" "${F[@]}" --repeat-gate constant
  done
fi
summarise
