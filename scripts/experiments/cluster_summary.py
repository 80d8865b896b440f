#!/usr/bin/env python3
"""Summarises docs/results/cluster/runs/ (scripts/experiments/cluster.sh) into cluster.json,
cluster.md and cluster.png: per head and trainer (irn train, cluster with N actors) the mean,
standard error and count over seeds of test purchase MRR@5, click R@5 and First R@5, and the
difference to irn train in standard errors (paired by seed). Variants (a TAG of cluster.sh, or
irn train with other flags such as train-b90) are rows of the table; the plot shows irn train
and the cluster runs of the tags in PLOT_TAGS (default -auto8, the default leases;
-auto8-r02bf16scaled, the row budget's second round; -auto8-r02bf16moments-other0.1, its third;
-auto8-r02bf16moments-other0.1-wu200, the third with a 200-update warm-up).

    cluster_summary.py [RESULTS_DIR]
    SPLIT=valid cluster_summary.py   (runs-valid/, cluster.sh SPLIT=valid: trained on train_tr,
                                      evaluated on valid; cluster-valid.json and .md, no plot)"""
import glob, json, os, re, statistics, sys

res = sys.argv[1] if len(sys.argv) > 1 else "docs/results/cluster"
# Cluster variants drawn as lines (comma-separated TAGs of cluster.sh).
PLOT_TAGS = os.environ.get("PLOT_TAGS", os.environ.get("PLOT_TAG", "-auto8,-auto8-r02bf16scaled,-auto8-r02bf16moments-other0.1,-auto8-r02bf16moments-other0.1-wu200")).split(",")
SPLIT = os.environ.get("SPLIT", "test")
RUNS, OUT = ("runs", "cluster") if SPLIT == "test" else ("runs-" + SPLIT, "cluster-" + SPLIT)
METRICS = [("purchase", "mrr@5"), ("click", "recall@5"), ("first", "recall@5")]
runs = {}
for path in sorted(glob.glob(os.path.join(res, RUNS, "*.json"))):
    m = re.match(r"(plain|repeat)-(train[a-z0-9.-]*|c\d+[a-z0-9.-]*)-s(\d+)\.json$", os.path.basename(path))
    if not m:
        continue
    ev = json.load(open(path))
    runs.setdefault((m.group(1), m.group(2)), {})[int(m.group(3))] = {f"{c}_{k}": ev[c][k] for c, k in METRICS}

def stat(v):
    mean = statistics.mean(v)
    se = statistics.stdev(v) / len(v) ** 0.5 if len(v) > 1 else float("nan")
    return mean, se

order = lambda t: (0, 0, t) if t.startswith("train") else (1, int(re.match(r"c(\d+)", t).group(1)), t)

def baseline_of(head, trainer):
    """irn train runs with the same agent flags: "train-avg" for "c2-avg" when it exists."""
    tag = re.sub(r"^c\d+", "", trainer)
    return "train" + tag if (head, "train" + tag) in runs else "train"
summary = []
for (head, trainer) in sorted(runs, key=lambda k: (k[0], order(k[1]))):
    seeds = runs[(head, trainer)]
    row = {"head": head, "trainer": trainer, "seeds": sorted(seeds)}
    for c, k in METRICS:
        key = f"{c}_{k}"
        row[key], row[key + "_se"] = stat([seeds[s][key] for s in sorted(seeds)])
        base = runs.get((head, baseline_of(head, trainer)), {})
        common = [s for s in seeds if s in base]
        if trainer != "train" and common and (head, trainer) != (head, baseline_of(head, trainer)):
            d = [seeds[s][key] - base[s][key] for s in common]
            row[key + "_diff_vs_train"] = statistics.mean(d)
            bse = stat([base[s][key] for s in sorted(base)])[1]
            row[key + "_diff_in_train_se"] = statistics.mean(d) / bse if bse == bse and bse > 0 else None
    summary.append(row)
json.dump(summary, open(os.path.join(res, OUT + ".json"), "w"), indent=1, sort_keys=True)

lines = ["| head | trainer | seeds | purchase MRR@5 | click R@5 | First R@5 | purchase MRR@5 - train (in SE of train) | click R@5 - train |",
         "|---|---|---|---|---|---|---|---|"]
f = lambda m, s: f"{m:.4f} ± {s:.4f}" if s == s else f"{m:.4f}"
for r in summary:
    dp = r.get("purchase_mrr@5_diff_vs_train")
    dc = r.get("click_recall@5_diff_vs_train")
    ds = r.get("purchase_mrr@5_diff_in_train_se")
    lines.append(f"| {r['head']} | {r['trainer']} | {','.join(map(str, r['seeds']))} | {f(r['purchase_mrr@5'], r['purchase_mrr@5_se'])} | "
                 f"{f(r['click_recall@5'], r['click_recall@5_se'])} | {f(r['first_recall@5'], r['first_recall@5_se'])} | "
                 + (f"{dp:+.4f}" + (f" ({ds:+.1f})" if ds is not None else "") if dp is not None else "-") + " | "
                 + (f"{dc:+.4f}" if dc is not None else "-") + " |")
lines = [l.replace("test purchase", f"{SPLIT} purchase") for l in lines]
open(os.path.join(res, OUT + ".md"), "w").write("\n".join(lines) + f"\n\n{SPLIT} split; mean ± standard error over seeds; differences are paired by seed.\n")
print("\n".join(lines))
if SPLIT != "test":
    sys.exit(0)

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("(matplotlib missing: no plot)", file=sys.stderr)
    sys.exit(0)
heads = [h for h in ["plain", "repeat"] if any(r["head"] == h for r in summary)]
fig, axes = plt.subplots(len(heads), 3, figsize=(12, 3.4 * len(heads)), squeeze=False)
for row, head in enumerate(heads):
    train = [r for r in summary if r["head"] == head and r["trainer"] == "train"]
    for ax, (c, k) in zip(axes[row], METRICS):  # one row per head: their scales differ ~2.5x
        key = f"{c}_{k}"
        se = lambda r: r[key + "_se"] if r[key + "_se"] == r[key + "_se"] else 0
        if train:  # irn train's mean +- one standard error, as a band
            m, e = train[0][key], se(train[0])
            ax.axhspan(m - e, m + e, color="grey", alpha=0.2, label="irn train ± 1 SE")
        for tag in PLOT_TAGS:
            rows = [r for r in summary if r["head"] == head and re.fullmatch(r"c\d+" + re.escape(tag), r["trainer"])]
            if not rows:
                continue
            xs = [int(re.match(r"c(\d+)", r["trainer"]).group(1)).bit_length() for r in rows]
            ax.errorbar(xs, [r[key] for r in rows], yerr=[se(r) for r in rows], fmt="o-", capsize=3, label=f"cluster{tag}")
        ax.set_xticks([1, 2, 3, 4]); ax.set_xticklabels(["1", "2", "4", "8"])
        ax.set_xlabel("actors"); ax.set_title(f"IRN-P {head}: test {c} {k.upper()}")
    axes[row][0].legend(fontsize=7)
fig.tight_layout()
fig.savefig(os.path.join(res, "cluster.png"), dpi=110)
