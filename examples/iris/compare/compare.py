"""Compare the candidate models and write a report naming the best one."""
import argparse
import csv
import json
import os

from pipebook_run import log

parser = argparse.ArgumentParser()
parser.add_argument("--models", nargs="+", required=True, help="model folders holding metrics.json")
parser.add_argument("--report", required=True)
args = parser.parse_args()

results = []
for folder in args.models:
    with open(os.path.join(folder, "metrics.json")) as f:
        results.append(json.load(f))
results.sort(key=lambda r: r["accuracy"], reverse=True)
best = results[0]

with open(os.path.join(args.report, "comparison.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["rank", "model", "accuracy"])
    for i, r in enumerate(results, 1):
        w.writerow([i, r["model"], f"{r['accuracy']:.4f}"])
log("best_accuracy", best["accuracy"])
log("best_model", best["model"])
print(f"best model: {best['model']} with accuracy {best['accuracy']:.3f}")
