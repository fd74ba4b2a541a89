"""A nearest-centroid baseline to compare the trained model against."""
import argparse
import csv
import json
import os

from pipebook_run import log

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--model", required=True)
args = parser.parse_args()


def load(name):
    with open(os.path.join(args.data, name), newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [[float(v) for v in r[:-1]] for r in rows], [r[-1] for r in rows]


x, y = load("train.csv")
x_test, y_test = load("test.csv")
centroids = {}
for label in sorted(set(y)):
    members = [r for r, t in zip(x, y) if t == label]
    centroids[label] = [sum(col) / len(members) for col in zip(*members)]


def predict(row):
    return min(centroids, key=lambda c: sum((a - b) ** 2 for a, b in zip(row, centroids[c])))


accuracy = sum(predict(r) == t for r, t in zip(x_test, y_test)) / len(y_test)
log("accuracy", accuracy)
with open(os.path.join(args.model, "metrics.json"), "w") as f:
    json.dump({"model": "nearest-centroid", "accuracy": accuracy}, f)
print(f"nearest centroid: test accuracy {accuracy:.3f}")
