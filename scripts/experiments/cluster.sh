#!/usr/bin/env bash
# Does the cluster train as well as one process? IRN-P on the real 1% sample, plain head and
# --head repeat, trained by `irn train` and by the cluster (irn-server + N irn-actor on
# loopback) for the same epochs, evaluated on test.
#
#   scripts/experiments/cluster.sh [WORK_DIR]
#
# Protocol per (head, seed): `irn train --train-split train_tr` picks the epoch count on valid
# (bestEpoch, 1-based); then every trainer runs that many epochs on all of train with the same
# seed and flags: `irn train --train-split train` ("train") and the cluster with N actors
# ("cN", irn-server --eval-split test --train-split train, the push compression of
# PUSH_FLAGS). Each final model is evaluated on test by `irn eval`. Results go to
# docs/results/cluster/runs/<head>-<trainer>-s<seed>.json, commands to
# docs/results/cluster/commands.txt; finished runs are skipped (resumable);
# scripts/experiments/cluster_summary.py makes the table and the plot.
# Environment: IRN_BIN (default .build/release), ALGO (default irn-p; another algorithm's runs
# are named <algo>-<head>-...), SEEDS ("1 2 3 4 5"), HEADS ("plain repeat"),
# ACTORS ("1 2 4 8"), EPOCHS (30, the bound for picking), PATIENCE (10), PUSH_FLAGS (default
# empty: the server's defaults; any irn-server flag), TAG (appended to the cluster runs' name,
# for a variant of PUSH_FLAGS, e.g. TAG=-lease0 PUSH_FLAGS="--shards-per-lease 0"), PORT
# (base, default 7300), AGENT_FLAGS (agent flags for both trainers, e.g. "--average-weights 0.99";
# with them TAG names the irn train runs too; the pick runs stay without them), ACTOR_FLAGS
# (irn-actor flags, e.g. "--sync" with PUSH_FLAGS="--max-staleness 0"), PICK_FROM (a directory of pick logs <algo>[-<head>]-s<seed>.pick.log.json
# written by paper.sh for the same command: their bestEpoch is used instead of a new pick run),
# SPLIT (test, default; valid: to choose a cluster setting such as PUSH_FLAGS without looking at
# test, every trainer runs the picked epochs on train_tr and is evaluated on valid, and results
# go to docs/results/cluster/runs-valid/ instead).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${IRN_BIN:-.build/release}
IRN=$BIN/irn
WORK=${1:-/tmp/irn-cluster-exp}
SEEDS=${SEEDS:-"1 2 3 4 5"}
HEADS=${HEADS:-"plain repeat"}
ACTORS=${ACTORS:-"1 2 4 8"}
EPOCHS=${EPOCHS:-30}
PATIENCE=${PATIENCE:-10}
PUSH_FLAGS=${PUSH_FLAGS:-}
PORT=${PORT:-7300}
TAG=${TAG:-}
SPLIT=${SPLIT:-test}
case $SPLIT in
  test) TRAIN_SPLIT=train RUNS_DIR=runs ;;
  valid) TRAIN_SPLIT=train_tr RUNS_DIR=runs-valid ;;
  *) echo "SPLIT must be test or valid, not $SPLIT" >&2; exit 2 ;;
esac
read -r -a AGENT <<< "${AGENT_FLAGS:-}"
read -r -a ACTOR <<< "${ACTOR_FLAGS:-}"
TRAIN_TAG=${AGENT_FLAGS:+$TAG}
ALGO=${ALGO:-irn-p}
PREFIX=""; [ "$ALGO" = irn-p ] || PREFIX="$ALGO-"
RES=docs/results/cluster
DATA=$WORK/data
mkdir -p "$WORK/models" "$RES/$RUNS_DIR"
CMDS=$RES/commands.txt
. scripts/experiments/common.sh
require_irn
prepare_real_sample "$DATA"

head_flags() { [ "$1" = plain ] && echo "" || echo "--head $1"; }

# The epoch count picked on valid by irn train (train_tr), once per (head, seed).
pick_epochs() {  # head seed
  local m=$WORK/models/$PREFIX$1-pick-s$2.safetensors
  local h=""; [ "$1" = plain ] || h="-$1"
  local shared=${PICK_FROM:-/nonexistent}/$ALGO$h-s$2.pick.log.json
  if [ -f "$shared" ]; then
    python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["bestEpoch"]))' "$shared"
    return 0
  fi
  if [ ! -f "$m.log.json" ] || ! grep -q '"bestEpoch"' "$m.log.json"; then
    local cmd=("$IRN" train --data "$DATA" --algo "$ALGO" --seed "$2" --epochs "$EPOCHS" --patience "$PATIENCE"
               --train-split train_tr --threads 1 --out "$m" --quiet $(head_flags "$1"))
    log_cmd "${cmd[*]}"
    echo "== pick $1 seed $2 ($(date -u +%H:%M:%S))" >&2
    "${cmd[@]}" 2> "$m.train.txt" >/dev/null
  fi
  python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["bestEpoch"]))' "$m.log.json"
}

evaluate() {  # model out
  local cmd=("$IRN" eval --data "$DATA" --model "$1" --threads 1 --split "$SPLIT" --json)
  log_cmd "${cmd[*]} > $2"
  "${cmd[@]}" > "$2.tmp" && mv "$2.tmp" "$2"
}

run_train() {  # head seed epochs
  local name=$PREFIX$1-train$TRAIN_TAG-s$2 out=$RES/$RUNS_DIR/$PREFIX$1-train$TRAIN_TAG-s$2.json
  [ "$SPLIT" = test ] || name=$name-$SPLIT
  [ -f "$out" ] && return 0
  local m=$WORK/models/$name.safetensors
  local cmd=("$IRN" train --data "$DATA" --algo "$ALGO" --seed "$2" --epochs "$3" --patience 0 --keep last
             --train-split "$TRAIN_SPLIT" --threads 1 --out "$m" --quiet $(head_flags "$1") "${AGENT[@]}")
  log_cmd "${cmd[*]}"
  echo "== $name, $3 epochs ($(date -u +%H:%M:%S))" >&2
  "${cmd[@]}" 2> "$WORK/models/$name.train.txt" >/dev/null
  evaluate "$m" "$out"
}

run_cluster() {  # head seed epochs actors
  local name=$PREFIX$1-c$4$TAG-s$2 out=$RES/$RUNS_DIR/$PREFIX$1-c$4$TAG-s$2.json
  [ "$SPLIT" = test ] || name=$name-$SPLIT
  [ -f "$out" ] && return 0
  local m=$WORK/models/$name.safetensors dir=$WORK/runs/$name
  rm -rf "$dir"; mkdir -p "$dir"
  local port=$((PORT + 4 * $4))
  local srv=("$BIN/irn-server" --data "$DATA" --algo "$ALGO" --seed "$2" --epochs "$3" --train-split "$TRAIN_SPLIT" --eval-split "$SPLIT" --keep last
             --host 127.0.0.1 --port "$port" --checkpoint-dir "$dir/ckpt" --checkpoint-every 100000 --out "$m"
             --heartbeat-timeout 120 $(head_flags "$1") $PUSH_FLAGS "${AGENT[@]}")
  log_cmd "${srv[*]} &"
  log_cmd "for i in \$(seq $4); do $BIN/irn-actor --server tcp://127.0.0.1:$port --data $DATA --id a\$i ${ACTOR[*]} & done; wait"
  echo "== $name, $3 epochs ($(date -u +%H:%M:%S))" >&2
  "${srv[@]}" > "$dir/server.log" 2>&1 &
  local spid=$! apids=()
  for i in $(seq "$4"); do
    "$BIN/irn-actor" --server "tcp://127.0.0.1:$port" --data "$DATA" --id "a$i" "${ACTOR[@]}" > "$dir/actor$i.log" 2>&1 &
    apids+=($!)
  done
  wait "$spid" || { echo "server failed: $dir/server.log" >&2; tail -5 "$dir/server.log" >&2; }
  for p in "${apids[@]}"; do wait "$p" || true; done
  if [ -f "$m" ]; then evaluate "$m" "$out"; else echo "no model from $name" >&2; fi
}

for head in $HEADS; do
  for s in $SEEDS; do
    e=$(pick_epochs "$head" "$s")
    run_train "$head" "$s" "$e"
    for n in $ACTORS; do run_cluster "$head" "$s" "$e" "$n"; done
  done
done
[ "$SPLIT" = test ] && python3 scripts/experiments/cluster_summary.py "$RES" || true
