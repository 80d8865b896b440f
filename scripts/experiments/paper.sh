#!/usr/bin/env bash
# The paper's Section 5 on the real 1% sample: Tables 1-3, Figure 3, Figure 4 (cold start,
# online learning), baselines and the cluster rows, then one report (docs/results/paper/).
#
#   scripts/experiments/paper.sh [STAGE ...]      (no stage: all of them, then the report)
#
# Stages, in the order they run by default (most wanted first, so an interrupted run has
# the most useful part done):
#   table1     the five agents with the paper's plain head; -F as IRN.md writes them and
#              with the reading that learns (--advantage-floor 0 --value-weight 0.05)
#   baselines  pop, spop, spop-markov, bpr, cknn, gru4rec (BPR-max and cross-entropy)
#   online     Figure 4c,d: `irn train --online` for A3C-F, A3C-P, IRN-P (both heads)
#   coldstart  Figure 4a,b: the final A3C-F, A3C-P, IRN-P models of table1 and repeat,
#              `irn eval --cold-start c`
#   repeat     Table 1's agents with --head repeat (ours), the -F ones in both readings
#   table2     reward density d in {0.1, 0.05, 0} (d = 1 is Table 1), the -F agents also as written;
#              the learning readings also with --head repeat; Figure 3 reads its logs
#   density    IRN-P and A3C-P at d in {1, 0.1, 0.05} with --policy-mean-over steps (ours)
#   table3     IRN-P breadth/depth (n, m) in {(1,1), (2,1), (1,2)} at d = 1 and d = 0, both heads
#              ((2,2) is IRN-P's default: table1 / table2 / repeat cells; the repeat head at d = 0
#              is the plain head's run, checked on one seed of (1,1))
#   cluster    IRN-P and A3C-P trained by irn-server + 2 irn-actor (scripts/experiments/cluster.sh)
#   report     scripts/experiments/paper_report.py: docs/results/paper/README.md + PNG plots
#
# Protocol (every agent cell, every seed): `irn train` on train_tr picks the epoch count on
# valid (best purchase Recall@5, --epochs 30 --patience 10: the "pick" run, whose per-epoch
# log is kept: Figure 3); then `irn train --train-split train --epochs E --patience 0 --keep
# last` with the same seed and flags retrains on all of train for that seed's picked E, and
# `irn eval` ranks test (conservative ties, and strict beside it). Baselines: their epochs are
# picked on valid (trained on train_tr), then they are retrained on train and ranked on test.
# Nothing is tuned on test.
#
# Resumable: every finished run leaves its JSON under docs/results/paper/runs/ and is skipped
# next time (models stay in WORK). Everything is rerun with the code of the commit that
# ran it (docs/results/table1/ came from older code: its A3C-P seed 1 pick run is not
# reproduced bit for bit today). Environment: IRN (default .build/release/irn), WORK (default
# /tmp/irn-paper), SEEDS ("1 2 3 4 5"), JOBS (2 runs at a time, each single-threaded), EPOCHS
# (30), PATIENCE (10), CELLS (only these agent cells, e.g. "irn-p a3c-p"; default all).
set -euo pipefail
cd "$(dirname "$0")/../.."
IRN=${IRN:-.build/release/irn}
WORK=${WORK:-/tmp/irn-paper}
SEEDS=${SEEDS:-"1 2 3 4 5"}
JOBS=${JOBS:-2}
EPOCHS=${EPOCHS:-30}
PATIENCE=${PATIENCE:-10}
RES=docs/results/paper
RUNS=$RES/runs
DATA=$WORK/data
MODELS=$WORK/models
CMDS=$RES/commands.txt
mkdir -p "$RUNS" "$MODELS"
. scripts/experiments/common.sh
require_irn
prepare_real_sample "$DATA"

LEARN_F=(--advantage-floor 0 --value-weight 0.05)   # the -F reading that learns
COLD_CELLS=" a3c-f-learn a3c-p irn-p a3c-f-learn-repeat a3c-p-repeat irn-p-repeat "   # Figure 4a,b's models
STARTED=$(date +%s)

# At most JOBS background runs at a time.
throttle() { while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done; }

# One agent cell for one seed: pick on valid, retrain on train, rank test (+ cold start).
chain() {  # cell algo seed flags...
    local cell=$1 algo=$2 seed=$3; shift 3
    local id=$cell-s$seed
    local pick=$MODELS/$id.pick.safetensors final=$MODELS/$id.safetensors
    local picklog=$RUNS/$id.pick.log.json out=$RUNS/$id.json
    if [ ! -f "$picklog" ]; then
        local cmd=("$IRN" train --data "$DATA" --algo "$algo" --seed "$seed" --epochs "$EPOCHS" --patience "$PATIENCE"
                   --threads 1 --out "$pick" --quiet "$@")
        log_cmd "${cmd[*]}"
        echo "== pick $id ($(date -u +%H:%M:%S))" >&2
        "${cmd[@]}" > "$MODELS/$id.pick.txt" 2>&1 || { echo "FAILED: $id pick (see $MODELS/$id.pick.txt)" >&2; return 1; }
        compact_json "$pick.log.json" "$picklog"
    fi
    local epochs
    epochs=$(python3 -c 'import json,sys; print(max(1, int(json.load(open(sys.argv[1]))["bestEpoch"] or 1)))' "$picklog")
    if [ ! -f "$out" ] || [ ! -f "$final" ]; then
        if [ ! -f "$final" ] || [ ! -f "$RUNS/$id.log.json" ]; then
            local cmd=("$IRN" train --data "$DATA" --algo "$algo" --seed "$seed" --epochs "$epochs" --patience 0 --keep last
                       --train-split train --threads 1 --out "$final" --quiet "$@")
            log_cmd "${cmd[*]}"
            echo "== retrain $id, $epochs epochs ($(date -u +%H:%M:%S))" >&2
            "${cmd[@]}" > "$MODELS/$id.train.txt" 2>&1 || { echo "FAILED: $id retrain (see $MODELS/$id.train.txt)" >&2; return 1; }
            compact_json "$final.log.json" "$RUNS/$id.log.json"
        fi
        evaluate "$final" "$RUNS/$id.strict.json" --ties strict
        evaluate "$final" "$out"
    fi
    if [[ $COLD_CELLS == *" $cell "* ]]; then
        for c in 1 2 3 4 5 6 7 8 9 10; do
            [ -f "$RUNS/$id.cold$c.json" ] || evaluate "$final" "$RUNS/$id.cold$c.json" --cold-start "$c"
        done
    fi
}

evaluate() {  # model out flags...
    local model=$1 out=$2; shift 2
    [ -f "$out" ] && return 0
    local cmd=("$IRN" eval --data "$DATA" --model "$model" --threads 1 --cutoffs 3,5,10,20 --json "$@")
    log_cmd "${cmd[*]} > $out"
    "${cmd[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
}

cell() {  # cell algo flags...: every seed, JOBS at a time (only the CELLS named, when set)
    local name=$1 algo=$2; shift 2
    [ -z "${CELLS:-}" ] || [[ " $CELLS " == *" $name "* ]] || return 0
    for s in $SEEDS; do
        throttle
        chain "$name" "$algo" "$s" "$@" &
    done
}

stage_table1() {
    cell irn-p irn-p
    cell a3c-p a3c-p
    cell prn-p prn-p --irn-weight 1
    cell a3c-f-learn a3c-f "${LEARN_F[@]}"
    cell irn-f-learn irn-f "${LEARN_F[@]}"
    cell a3c-f a3c-f
    cell irn-f irn-f
    wait
}

stage_repeat() {
    cell irn-p-repeat irn-p --head repeat
    cell a3c-p-repeat a3c-p --head repeat
    cell prn-p-repeat prn-p --irn-weight 1 --head repeat
    cell a3c-f-learn-repeat a3c-f "${LEARN_F[@]}" --head repeat
    cell irn-f-learn-repeat irn-f "${LEARN_F[@]}" --head repeat
    cell a3c-f-repeat a3c-f --head repeat   # as written (IRN.md), with our head
    cell irn-f-repeat irn-f --head repeat
    wait
}

stage_table2() {
    for d in 0.1 0.05 0; do
        cell "irn-p-d$d" irn-p --reward-density "$d"
        [ "$d" = 0 ] || cell "a3c-p-d$d" a3c-p --reward-density "$d"   # A3C-P at d = 0 has no reward
        cell "a3c-f-learn-d$d" a3c-f "${LEARN_F[@]}" --reward-density "$d"
        cell "irn-f-learn-d$d" irn-f "${LEARN_F[@]}" --reward-density "$d"
        cell "irn-p-repeat-d$d" irn-p --head repeat --reward-density "$d"
        [ "$d" = 0 ] || cell "a3c-p-repeat-d$d" a3c-p --head repeat --reward-density "$d"
        cell "a3c-f-learn-repeat-d$d" a3c-f "${LEARN_F[@]}" --head repeat --reward-density "$d"
        cell "irn-f-learn-repeat-d$d" irn-f "${LEARN_F[@]}" --head repeat --reward-density "$d"
        cell "a3c-f-d$d" a3c-f --reward-density "$d"   # as written (IRN.md): the record that it does not learn
        cell "irn-f-d$d" irn-f --reward-density "$d"
    done
    wait
}

# The -P agents with the policy term averaged over the window's active steps
# (--policy-mean-over steps) instead of its own rows (IRN.md): at d = 1, 0.1 and 0.05.
stage_density() {
    for d in 1 0.1 0.05; do
        local tag=""; [ "$d" = 1 ] || tag="-d$d"
        cell "irn-p-pmsteps$tag" irn-p --reward-density "$d" --policy-mean-over steps
        cell "a3c-p-pmsteps$tag" a3c-p --reward-density "$d" --policy-mean-over steps
    done
    wait
}

stage_table3() {
    for d in 1 0; do
        local tag=""; [ "$d" = 1 ] || tag="-d$d"
        for nm in "1 1" "2 1" "1 2"; do
            set -- $nm
            cell "irn-p-n$1m$2$tag" irn-p --breadth "$1" --depth "$2" --reward-density "$d"
            # At d = 0 the repeat head's gate gets no gradient (only the policy term moves it, and
            # there is no reward): the plain head's runs, seed by seed. One seed checks it.
            if [ "$d" = 1 ]; then
                cell "irn-p-repeat-n$1m$2" irn-p --head repeat --breadth "$1" --depth "$2"
            elif [ "$1$2" = 11 ]; then
                SEEDS=1 cell "irn-p-repeat-n$1m$2$tag" irn-p --head repeat --breadth "$1" --depth "$2" --reward-density "$d"
            fi
        done
    done
    wait
}

# The paper's M = 128 slots give only ~70 iterations in one pass over this small sample;
# M = 16 ("-m16") gives ~8x as many, smaller updates.
stage_online() {
    for s in $SEEDS; do
        for spec in "a3c-f-learn a3c-f ${LEARN_F[*]}" "a3c-p a3c-p" "irn-p irn-p" \
                    "a3c-f-learn-m16 a3c-f ${LEARN_F[*]} --batch 16" "a3c-p-m16 a3c-p --batch 16" "irn-p-m16 irn-p --batch 16" \
                    "a3c-f-learn-repeat a3c-f ${LEARN_F[*]} --head repeat" "a3c-p-repeat a3c-p --head repeat" "irn-p-repeat irn-p --head repeat" \
                    "a3c-f-learn-repeat-m16 a3c-f ${LEARN_F[*]} --head repeat --batch 16" "a3c-p-repeat-m16 a3c-p --head repeat --batch 16" \
                    "irn-p-repeat-m16 irn-p --head repeat --batch 16"; do
            set -- $spec
            local name=$1-online-s$s algo=$2; shift 2
            local out=$RUNS/$name.jsonl
            [ -f "$out" ] && continue
            throttle
            (
                local cmd=("$IRN" train --online --data "$DATA" --algo "$algo" --seed "$s" --train-split train --threads 1
                           --online-report-every 2 --online-eval-every 4 --out "$MODELS/$name.safetensors"
                           --log "$out.tmp" --quiet "$@")
                log_cmd "${cmd[*]}"
                echo "== online $name ($(date -u +%H:%M:%S))" >&2
                "${cmd[@]}" > "$MODELS/$name.txt" 2>&1 && mv "$out.tmp" "$out" || echo "FAILED: $name (see $MODELS/$name.txt)" >&2
            ) &
        done
    done
    wait
}

# Cold start needs table1's final models; chain() makes the missing evaluations.
stage_coldstart() {
    cell irn-p irn-p
    cell a3c-p a3c-p
    cell a3c-f-learn a3c-f "${LEARN_F[@]}"
    cell irn-p-repeat irn-p --head repeat
    cell a3c-p-repeat a3c-p --head repeat
    cell a3c-f-learn-repeat a3c-f "${LEARN_F[@]}" --head repeat
    wait
}

# Baselines: epochs picked on valid (trained on train_tr), retrained on train, test.
baseline_run() {  # out flags...
    local out=$1; shift
    [ -f "$out" ] && return 0
    local cmd=("$IRN" baseline --data "$DATA" --threads 1 --cutoffs 3,5,10,20 --json "$@")
    log_cmd "${cmd[*]} > $out"
    "${cmd[@]}" > "$out.tmp" 2> "$out.err" && mv "$out.tmp" "$out" && rm -f "$out.err" \
        || { echo "FAILED: $out (see $out.err)" >&2; return 1; }
}

baseline_tuned() {  # name epochs-flag "grid" seed flags...: pick the epochs on valid, then test
    local name=$1 flag=$2 grid=$3 seed=$4; shift 4
    local best="" bestv=-1
    for e in $grid; do
        local v=$RUNS/baseline-$name-s$seed.valid-e$e.json
        baseline_run "$v" --method "${name%%-*}" --seed "$seed" --split valid "$flag" "$e" "$@"
        local r; r=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["purchase"]["recall@5"])' "$v")
        if python3 -c "import sys; sys.exit(0 if float('$r') > float('$bestv') else 1)"; then best=$e bestv=$r; fi
    done
    baseline_run "$RUNS/baseline-$name-s$seed.strict.json" --method "${name%%-*}" --seed "$seed" --split test "$flag" "$best" --ties strict "$@"
    baseline_run "$RUNS/baseline-$name-s$seed.json" --method "${name%%-*}" --seed "$seed" --split test "$flag" "$best" "$@"
}

stage_baselines() {
    for m in pop spop spop-markov cknn; do
        baseline_run "$RUNS/baseline-$m.json" --method "$m"
        baseline_run "$RUNS/baseline-$m.strict.json" --method "$m" --ties strict
    done
    local xe=()
    # (The help is read whole first: grep -q closing the pipe early fails it under pipefail.)
    local help; help=$("$IRN" baseline --help)
    [[ $help == *--gru-loss* ]] && xe=(gru4rec-xe)
    for s in $SEEDS; do
        baseline_tuned bpr --bpr-epochs "10 30 50" "$s"
        baseline_tuned gru4rec --gru-epochs "5 10 20" "$s"
        # The reference sample for this data: cross-entropy, 2,048 negatives by popularity^0.5
        # (each epoch costs ~10x an in-batch one: epochs picked from 5 and 10 only).
        [ ${#xe[@]} -eq 0 ] || baseline_tuned gru4rec-xe --gru-epochs "5 10" "$s" --gru-loss xe --gru-samples 2048 --gru-sample-alpha 0.5 --gru-momentum 0.2
    done
}

stage_cluster() {
    # IRN-P and A3C-P by the cluster (2 actors, the default leases: TAG=-auto8) beside irn train,
    # same protocol, both heads, in cluster/.
    for algo in irn-p a3c-p; do
        ALGO=$algo HEADS="plain repeat" ACTORS=2 TAG=-auto8 SEEDS="$SEEDS" IRN_BIN=$(dirname "$IRN") PICK_FROM=$RUNS \
            scripts/experiments/cluster.sh "$WORK/cluster"
    done
}

stage_report() { python3 scripts/experiments/paper_report.py "$RES" --python-for-plots "$(scripts/plot-python)"; }

STAGES=${*:-table1 baselines online coldstart repeat table2 density table3 cluster report}
for st in $STAGES; do
    declare -F "stage_$st" >/dev/null || { echo "unknown stage $st (see the header of $0)" >&2; exit 2; }
    echo "==== stage $st ($(date -u +%H:%M:%S))" >&2
    "stage_$st"
done
echo "paper.sh: stages '$STAGES' done in $(( $(date +%s) - STARTED )) s" >&2
