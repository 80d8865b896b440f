#!/usr/bin/env python3
"""Draws test purchase MRR@5 against server updates from irn-server eval histories
(`--eval-every N` writes MODEL.eval-history.jsonl): one line per file.

    cluster_curves.py OUT.png LABEL=FILE.jsonl [LABEL=FILE.jsonl ...]

Run with a Python that has matplotlib (scripts/plot-python prints one)."""
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

out, specs = sys.argv[1], sys.argv[2:]
fig, ax = plt.subplots(figsize=(7, 4))
for spec in specs:
    label, path = spec.split("=", 1)
    rows = [json.loads(line) for line in open(path) if line.strip()]
    ax.plot([r["step"] for r in rows], [r["test.purchase.mrr@5"] for r in rows], marker=".", label=label)
ax.set_xlabel("server updates"); ax.set_ylabel("test purchase MRR@5"); ax.grid(alpha=0.3); ax.legend(fontsize="small")
ax.set_title("IRN-P plain head, seed 1, 8 actors, 20 epochs")
fig.tight_layout(); fig.savefig(out, dpi=110)
