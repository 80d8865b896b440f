#!/usr/bin/env bash
# Where does a cluster variant lose on test? The final models of scripts/experiments/cluster.sh
# (plain head) ranked on test twice: counting only the events whose item occurs in train_tr,
# and only those whose item does not (the items a model can learn only from the valid week of
# train). A diagnosis of figures already reported, not a way to choose settings.
#
#   scripts/experiments/cluster_targets.sh [WORK_DIR]     (WORK_DIR as given to cluster.sh)
#
# Environment: IRN_BIN (default .build/release), TAGS (trainer names, default "train c4-auto8
# c4-auto8-r02bf16scaled c8-auto8 c8-auto8-r02bf16scaled"), SEEDS ("1 2 3 4 5"), HEAD (plain).
# Results: docs/results/cluster/runs-targets/<head>-<trainer>-s<seed>.{in,not-in}.json and the
# table docs/results/cluster/targets.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${IRN_BIN:-.build/release}
IRN=$BIN/irn
WORK=${1:-/tmp/irn-cluster-exp}
TAGS=${TAGS:-"train c4-auto8 c4-auto8-r02bf16scaled c8-auto8 c8-auto8-r02bf16scaled"}
SEEDS=${SEEDS:-"1 2 3 4 5"}
HEAD=${HEAD:-plain}
RES=docs/results/cluster
OUT=$RES/runs-targets
CMDS=$RES/commands.txt
mkdir -p "$OUT"
. scripts/experiments/common.sh
require_irn
DATA=$WORK/data

for tag in $TAGS; do
    for s in $SEEDS; do
        # The model each result in runs/ was evaluated from (irn train's may live elsewhere).
        model=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$RES/runs/$HEAD-$tag-s$s.json")
        for f in in not-in; do
            out=$OUT/$HEAD-$tag-s$s.$f.json
            [ -f "$out" ] && continue
            cmd=("$IRN" eval --data "$DATA" --model "$model" --threads 1 --cutoffs 5 --json "--targets-$f" train_tr)
            log_cmd "${cmd[*]} > $out"
            "${cmd[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
        done
    done
done

python3 - "$OUT" "$HEAD" "$TAGS" "$SEEDS" > "$RES/targets.md" <<'EOF'
import json, statistics, sys
out, head, tags, seeds = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
def cell(tag, f, cat, key):
    v = [json.load(open(f"{out}/{head}-{tag}-s{s}.{f}.json"))[cat][key] for s in seeds]
    return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"
first = json.load(open(f"{out}/{head}-{tags[0]}-s{seeds[0]}.in.json"))
second = json.load(open(f"{out}/{head}-{tags[0]}-s{seeds[0]}.not-in.json"))
print(f"# Test figures split by whether the item occurs in train_tr ({head} head, {len(seeds)} seeds)\n")
print("Made by `scripts/experiments/cluster_targets.sh` (`irn eval --targets-in train_tr` /")
print("`--targets-not-in train_tr` on the final models of `cluster.sh`). Events on items in train_tr:")
print(f"{first['purchase']['count']} purchases, {first['click']['count']} clicks; on the other items (seen only in the")
print(f"valid week of train): {second['purchase']['count']} purchases, {second['click']['count']} clicks.\n")
print("| trainer | purchase MRR@5, in train_tr | click R@5, in | purchase MRR@5, not in train_tr | click R@5, not in |")
print("|---|---|---|---|---|")
for t in tags:
    print(f"| {t} | {cell(t, 'in', 'purchase', 'mrr@5')} | {cell(t, 'in', 'click', 'recall@5')} | "
          f"{cell(t, 'not-in', 'purchase', 'mrr@5')} | {cell(t, 'not-in', 'click', 'recall@5')} |")
EOF
echo "wrote $RES/targets.md" >&2
