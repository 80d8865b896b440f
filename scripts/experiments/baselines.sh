#!/usr/bin/env bash
# Runs every baseline (pop, spop, bpr, cknn, gru4rec) through the shared evaluator on
#   real   - the YooChoose 1% sample, developers' split (--days 0 --test-days 14 --valid-days 7)
#   synth  - a paper-scale synthetic shop (irn data synth), default preprocessing
#            (--days 30 --test-days 3 --valid-days 1)
# and writes docs/results/baselines.json (every raw figure) and docs/results/baselines.md.
#
# Every model uses its published / default flags; nothing is tuned on a test split.
# bpr and gru4rec run over seeds 1,2,3 (mean and sample standard deviation); pop, spop and
# cknn are deterministic and run under both tie rules (conservative and strict).
# The machine is shared: everything runs one after the other.
#
# Environment:
#   IRN_WORK         work directory for prepared data and raw run outputs (default /tmp/irn-baselines);
#                    finished runs found there are reused, delete it to start over
#   IRN_SHARED_DATA  directory holding yoochoose-1pct/ (default <repo>/../shared/data)
#   SYNTH_SESSIONS, SYNTH_ITEMS  size of the synthetic shop (defaults below)
#   SEEDS            seeds of bpr and gru4rec (default "1 2 3")
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${IRN_WORK:-/tmp/irn-baselines}
SHARED=${IRN_SHARED_DATA:-$ROOT/../shared/data}
# 8.8M sessions / 30k items -> after preprocessing 9,015 items, 72,311 train and 7,876 test
# sessions (measured; the paper's split: 9,167 items, 72,274 train, 7,223 test sessions).
SYNTH_SESSIONS=${SYNTH_SESSIONS:-8800000}
SYNTH_ITEMS=${SYNTH_ITEMS:-30000}
SEEDS=${SEEDS:-"1 2 3"}
OUT_JSON=$ROOT/docs/results/baselines.json
OUT_MD=$ROOT/docs/results/baselines.md

command -v jq >/dev/null || { echo "error: jq is required to collect the figures" >&2; exit 1; }
mkdir -p "$WORK/runs" "$ROOT/docs/results"
cd "$ROOT"

echo "== release build" >&2
swift build -c release --product irn >&2
IRN="$(swift build -c release --show-bin-path)/irn"

# show CMD... : records the command for the md (also when an earlier result is reused);
# log CMD... : shows it, then runs it.
COMMANDS="$WORK/commands.txt"
: > "$COMMANDS"
show() {
    local shown="${*//$IRN/irn}"
    shown="${shown//$WORK/\$WORK}"
    shown="${shown//$SHARED/\$SHARED}"
    echo "$shown" >> "$COMMANDS"
    echo "+ $shown" >&2
}
log() { show "$@"; "$@"; }

# ---- (a) the real sample
CLICKS=$SHARED/yoochoose-1pct/yoochoose-clicks.dat.gz
BUYS=$SHARED/yoochoose-1pct/yoochoose-buys.dat.gz
DATASETS=()
if [[ -f $CLICKS && -f $BUYS ]]; then
    prep=("$IRN" data prepare --clicks "$CLICKS" --buys "$BUYS" --out "$WORK/real" --days 0 --test-days 14 --valid-days 7)
    if [[ -f $WORK/real/dataset.json ]]; then show "${prep[@]}"; else log "${prep[@]}" >&2; fi
    DATASETS+=(real)
else
    echo "skipping the real sample: $CLICKS or $BUYS is absent (set IRN_SHARED_DATA)" >&2
fi

# ---- (b) the paper-scale synthetic shop
synth=("$IRN" data synth --sessions "$SYNTH_SESSIONS" --items "$SYNTH_ITEMS" --seed 1 --out "$WORK/synth-raw")
prep=("$IRN" data prepare --clicks "$WORK/synth-raw/yoochoose-clicks.dat" --buys "$WORK/synth-raw/yoochoose-buys.dat" --out "$WORK/synth")
if [[ -f $WORK/synth/dataset.json ]]; then
    show "${synth[@]}"; show "${prep[@]}"
else
    log "${synth[@]}" >&2
    log "${prep[@]}" >&2
    rm -rf "$WORK/synth-raw"  # about 1 GB of text; the prepared set is all the runs need
fi
DATASETS+=(synth)

# ---- (c) every baseline on every data set
# run NAME ARGS... : one `irn baseline --json` run, its JSON kept in $WORK/runs/NAME.json.
run() {
    local name=$1; shift
    local out=$WORK/runs/$name.json
    if [[ -s $out ]]; then show "$IRN" baseline --json "$@"; echo "  (reusing $out)" >&2; return; fi
    log "$IRN" baseline --json "$@" > "$out.tmp"
    mv "$out.tmp" "$out"
}

for ds in "${DATASETS[@]}"; do
    for ties in conservative strict; do
        for m in pop spop cknn; do
            run "$ds-$m-$ties" --data "$WORK/$ds" --method "$m" --ties "$ties"
        done
    done
    for seed in $SEEDS; do
        for m in bpr gru4rec; do
            run "$ds-$m-conservative-s$seed" --data "$WORK/$ds" --method "$m" --ties conservative --seed "$seed"
        done
    done
    # GRU4Rec with the reference code's extra negatives (n_sample 2048, uniform): the IRN
    # paper's in-batch-only setting above leaves rarely drawn items unpenalised (see the md).
    # Ten times slower (about 11k events/s, 8 minutes a seed on the paper-scale set).
    for seed in $SEEDS; do
        run "$ds-gru4rec_n2048-conservative-s$seed" --data "$WORK/$ds" --method gru4rec --gru-samples 2048 \
            --ties conservative --seed "$seed"
    done
done

# ---- speed benchmarks (release build, paper-scale synthetic data of `irn bench baseline`)
for m in cknn gru4rec; do
    if [[ -s $WORK/bench-$m.txt ]]; then
        show "$IRN" bench baseline --method "$m"
    else
        log "$IRN" bench baseline --method "$m" > "$WORK/bench-$m.txt.tmp" 2>/dev/null
        mv "$WORK/bench-$m.txt.tmp" "$WORK/bench-$m.txt"
    fi
done
CKNN_EPS=$(sed -n 's/^ranked .* = \([0-9]*\) events\/s.*/\1/p' "$WORK/bench-cknn.txt")
GRU_EPS=$(sed -n 's/.* = \([0-9]*\) training events\/s.*/\1/p' "$WORK/bench-gru4rec.txt")
GRU_RANK_EPS=$(sed -n 's/^ranked .* = \([0-9]*\) events\/s.*/\1/p' "$WORK/bench-gru4rec.txt")

# ---- (d) collect
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
MACHINE="$(uname -sm), $CPU, $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB RAM (shared with other jobs)"
SWIFT=$(swift --version 2>/dev/null | head -1)
COMMIT=$(git rev-parse --short HEAD)

# Split sizes of each data set, from its dataset.json.
splits='{}'
for ds in "${DATASETS[@]}"; do
    splits=$(jq --arg ds "$ds" --slurpfile d "$WORK/$ds/dataset.json" '. + {($ds): $d[0]}' <<< "$splits")
done

# Each run's JSON tagged with its data set, variant (pop, ..., gru4rec_n2048) and seed, all
# from its file name DATASET-VARIANT-TIES[-sSEED].
tagged=()
for f in "$WORK"/runs/*.json; do
    n=$(basename "$f" .json); ds=${n%%-*}; variant=${n#*-}; variant=${variant%%-*}; seed=null
    if [[ $n =~ -s([0-9]+)$ ]]; then seed=${BASH_REMATCH[1]}; fi
    jq -c --arg ds "$ds" --arg variant "$variant" --argjson seed "$seed" \
        '. + {dataset: $ds, variant: $variant, seed: $seed}' "$f" > "$WORK/runs-tagged-$n.json"
    tagged+=("$WORK/runs-tagged-$n.json")
done

jq -s \
   --arg machine "$MACHINE" --arg swift "$SWIFT" --arg commit "$COMMIT" \
   --arg synth "irn data synth --sessions $SYNTH_SESSIONS --items $SYNTH_ITEMS --seed 1" \
   --argjson splits "$splits" \
   --argjson cknn_eps "${CKNN_EPS:-null}" --argjson gru_eps "${GRU_EPS:-null}" --argjson gru_rank_eps "${GRU_RANK_EPS:-null}" \
   --rawfile commands "$COMMANDS" '
  def stats: {mean: (add / length),
              sd: (if length > 1 then ((map(. * .) | add) - (add * add / length)) / (length - 1) | if . < 0 then 0 else . end | sqrt else 0 end),
              min: min, max: max, n: length};
  . as $runs
  | {machine: $machine, swift: $swift, commit: $commit, synthetic_shop: $synth,
     datasets: $splits, commands: ($commands | split("\n") | map(select(length > 0))),
     bench: {cknn_ranked_events_per_second: $cknn_eps, gru4rec_training_events_per_second: $gru_eps,
             gru4rec_ranked_events_per_second: $gru_rank_eps},
     runs: $runs,
     summary: ($runs | group_by([.dataset, .variant, .ties]) | map(
        . as $g
        | {dataset: $g[0].dataset, method: $g[0].variant, ties: $g[0].ties, seeds: ($g | map(.seed) | map(select(. != null))),
           metrics: ([["purchase"], ["click"], ["first"]] | map(.[0]) | map(. as $c |
               {($c): ({"recall@5": ($g | map(.[$c]["recall@5"]) | stats),
                        "mrr@5": ($g | map(.[$c]["mrr@5"]) | stats),
                        count: $g[0][$c].count})}) | add),
           train_seconds: ($g | map(.train_seconds) | stats)}))}
' "${tagged[@]}" > "$OUT_JSON.tmp"
jq -e '(.runs | length) > 0 and (.runs | length) == (.summary | map(.seeds | if length > 0 then length else 1 end) | add)' \
    "$OUT_JSON.tmp" > /dev/null || { echo "error: collecting the runs failed, see $OUT_JSON.tmp" >&2; exit 1; }
mv "$OUT_JSON.tmp" "$OUT_JSON"
rm -f "$WORK"/runs-tagged-*.json
echo "wrote $OUT_JSON" >&2

# ---- the md (generated; text below the observations marker of an existing file is kept)
MARKER='<!-- observations: written by hand, kept when the script rewrites this file -->'
OBS=""
if [[ -f $OUT_MD ]] && grep -qF "$MARKER" "$OUT_MD"; then
    OBS=$(sed -n "/$(printf '%s' "$MARKER" | sed 's/[][\/.*^$]/\\&/g')/,\$p" "$OUT_MD" | tail -n +2)
fi
{
jq -r '
  def f: (. * 1000 | round) as $i | "\(if $i >= 1000 then ($i / 1000 | floor | tostring) else "" end).\("00\($i % 1000)"[-3:])";
  def cell: if .n > 1 then "\(.mean | f) ± \(.sd | f)" else (.mean | f) end;
  def secs: (. * 10 | round) as $i | "\($i / 10 | floor).\($i % 10)";
  def tsecs: if .n > 1 then "\(.mean | secs) ± \(.sd | secs)" else (.mean | secs) end;
  def order: {"pop": 0, "spop": 1, "bpr": 2, "cknn": 3, "gru4rec": 4, "gru4rec_n2048": 5}[.method] * 10 + (if .ties == "strict" then 1 else 0 end);
  def split($d): "\($d.sessions) sessions / \($d.events) events / \($d.purchases) purchases / \($d.items) items";
  "# Baselines: POP, S-POP, BPR, CKNN, GRU4Rec",
  "",
  "Generated by `scripts/experiments/baselines.sh` (commit \(.commit)). Every model is trained on `train`",
  "and ranked on `test` by the shared evaluator with its default flags (nothing tuned on a test split).",
  "Recall@5 / MRR@5 of purchase events, click events and First (the event after the first item).",
  "bpr and gru4rec: mean ± sample standard deviation over seeds 1, 2, 3; pop, spop, cknn are",
  "deterministic (one run per tie rule). Train time: seconds of `irn baseline` before evaluation",
  "(building the index / counts for pop, spop, cknn).",
  "",
  "Tie rule: `conservative` (the project default) ranks the target at 1 + the number of other items",
  "scoring >= it, so a tie never helps; `strict` at 1 + the number scoring strictly higher (what",
  "most papers compute). Both are given for the models with many tied scores (pop, spop, cknn);",
  "bpr and gru4rec have continuous scores and are run with the conservative rule only.",
  "",
  "Machine: \(.machine). \(.swift). Release build.",
  "",
  "## Data sets",
  "",
  "- real: the YooChoose 1% sample, developers\u0027 split (`--days 0 --test-days 14 --valid-days 7`).",
  (if .datasets.real then "  train \(split(.datasets.real.train)); test \(split(.datasets.real.test))." else "  (absent on this machine: skipped)" end),
  "- synth: paper-scale synthetic shop `\(.synthetic_shop)`, default preprocessing",
  "  (`--days 30 --test-days 3 --valid-days 1`): train \(split(.datasets.synth.train)); test \(split(.datasets.synth.test)).",
  "  The paper: train 72,274 sessions / 683,530 events, test 7,223 sessions / 63,100 events, 9,167 items.",
  "",
  "## Results",
  (.summary | group_by(.dataset) | .[] | sort_by(order) |
   "",
   "### \(.[0].dataset) (test: \(.[0].metrics.purchase.count) purchase, \(.[0].metrics.click.count) click, \(.[0].metrics.first.count) First events)",
   "",
   "| method | ties | seeds | purchase R@5 | purchase MRR@5 | click R@5 | click MRR@5 | First R@5 | First MRR@5 | train s |",
   "|---|---|---|---|---|---|---|---|---|---|",
   (.[] | "| \(.method) | \(.ties) | \(if (.seeds | length) > 0 then (.seeds | map(tostring) | join(",")) else "-" end) | \(.metrics.purchase["recall@5"] | cell) | \(.metrics.purchase["mrr@5"] | cell) | \(.metrics.click["recall@5"] | cell) | \(.metrics.click["mrr@5"] | cell) | \(.metrics.first["recall@5"] | cell) | \(.metrics.first["mrr@5"] | cell) | \(.train_seconds | tsecs) |")),
  "",
  "gru4rec: the IRN paper\u0027s setting (BPR-max, negatives = the other targets of the mini-batch only);",
  "gru4rec_n2048: the same plus 2,048 extra uniformly sampled negatives per mini-batch (`--gru-samples 2048`,",
  "the reference implementation\u0027s RSC15 setting), everything else unchanged.",
  "",
  "Paper (Table 1, purchase R@5 / MRR@5): BPR .679 / .434, CKNN .685 / .470, GRU4Rec .675 / .457; click R@5: GRU4Rec .297.",
  "",
  "## Speed (release build, `irn bench baseline`, its synthetic 9,167 items / 72,274 train / 7,223 test sessions, 2 threads)",
  "",
  "- cknn: \(.bench.cknn_ranked_events_per_second) ranked test events/s (target: at least 2,000).",
  "- gru4rec: \(.bench.gru4rec_training_events_per_second) training events/s (target: at least 20,000); it ranks \(.bench.gru4rec_ranked_events_per_second) test events/s.",
  "",
  "## Commands (`irn` = the release binary, `$WORK` = the work directory, `$SHARED` = ../shared/data)",
  "",
  "```",
  (.commands[]),
  "```",
  "",
  "Raw figures of every run (all cut-offs, counts, train seconds): `docs/results/baselines.json`."
' "$OUT_JSON"
echo
echo "$MARKER"
echo "$OBS"
} > "$OUT_MD.tmp"
mv "$OUT_MD.tmp" "$OUT_MD"
echo "wrote $OUT_MD" >&2
