#!/usr/bin/env python3
"""Figures of docs/results/next: (1) valid purchase MRR@5 and click R@5 per epoch of the IRN-P
repeat-next valid runs (seed means over the epochs every seed ran), transitions vs co-occurrence
source, beside spop-markov's valid figures; (2) test Recall@5 on repeat and new-item clicks and
on new-item First events (session.json). Run through scripts/plot-python:

    "$(scripts/plot-python)" scripts/experiments/next_plot.py [docs/results/next]

Writes epochs.png and session.png."""
import glob, json, os, sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

res = sys.argv[1] if len(sys.argv) > 1 else "docs/results/next"


def curves(name):
    logs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(res, "runs", name + "-s*.log.json")))]
    n = min(len(d["epochs"]) for d in logs)
    mean = lambda k: [sum(d["epochs"][e]["valid"][k] for d in logs) / len(logs) for e in range(n)]
    return list(range(1, n + 1)), mean("purchase_mrr@5"), mean("click_recall@5"), len(logs)


rule = json.load(open(os.path.join(res, "valid", "baseline-spop-markov.json")))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for name, label, colour in [("irn-p-next-click-avg", "transitions", "tab:blue"),
                            ("irn-p-next-cooc-click-avg", "co-occurrence", "tab:red")]:
    x, pm, cr, seeds = curves(name)
    axes[0].plot(x, pm, color=colour, label=f"IRN-P, {label} ({seeds} seeds)")
    axes[1].plot(x, cr, color=colour, label=f"IRN-P, {label} ({seeds} seeds)")
for ax, value, title in [(axes[0], rule["purchase"]["mrr@5"], "valid purchase MRR@5"),
                         (axes[1], rule["click"]["recall@5"], "valid click Recall@5")]:
    ax.axhline(value, color="grey", linestyle="--", label="spop-markov")
    ax.set_title(title)
    ax.set_xlabel("epoch (click 0.1, average 0.99; trained on train_tr)")
    ax.grid(alpha=0.3)
axes[1].legend(fontsize=8)
fig.tight_layout()
fig.savefig(os.path.join(res, "epochs.png"), dpi=120)

s = json.load(open(os.path.join(res, "session.json")))
rows = [("baseline-spop-markov", "spop-markov"), ("baseline-cknn", "cknn"),
        ("retrain-irn-p-next-click-avg", "IRN-P transitions"), ("retrain-irn-p-next-cooc-click-avg", "IRN-P co-occurrence")]
parts = [("click_repeat_recall@5", "clicks, repeats"), ("click_new_recall@5", "clicks, new items"),
         ("first_new_recall@5", "First, new items")]
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
for ax, (key, title) in zip(axes, parts):
    names = [r for r in rows if r[0] in s]
    vals = [s[n][key]["mean"] for n, _ in names]
    errs = [s[n][key]["sd"] for n, _ in names]
    ax.bar(range(len(names)), vals, yerr=errs, color=["grey", "silver", "tab:blue", "tab:red"][:len(names)])
    ax.set_xticks(range(len(names)), [l for _, l in names], rotation=20, fontsize=8)
    ax.set_title(f"test Recall@5: {title}")
    lo = min(vals)
    ax.set_ylim(max(0, lo - 0.1) if key.startswith("click_repeat") else 0, None)
    ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
fig.savefig(os.path.join(res, "session.png"), dpi=120)
print("wrote", os.path.join(res, "epochs.png"), os.path.join(res, "session.png"))
