"""Train a softmax-regression classifier with plain gradient descent (standard library only)."""
import argparse
import json
import math
import os

from common import load
from pipebook_run import log

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--model", required=True)
parser.add_argument("--learning_rate", type=float, required=True)
parser.add_argument("--epochs", type=int, default=200)
args = parser.parse_args()

features, x, y = load(args.data, "train.csv")
_, x_test, y_test = load(args.data, "test.csv")
classes = sorted(set(y))
k, d = len(classes), len(features)
w = [[0.0] * (d + 1) for _ in range(k)]


def scores(row):
    z = [sum(wc[i] * row[i] for i in range(d)) + wc[d] for wc in w]
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


for epoch in range(args.epochs):
    grad = [[0.0] * (d + 1) for _ in range(k)]
    loss = 0.0
    for row, label in zip(x, y):
        p = scores(row)
        t = classes.index(label)
        loss -= math.log(max(p[t], 1e-12))
        for c in range(k):
            g = p[c] - (1.0 if c == t else 0.0)
            for i in range(d):
                grad[c][i] += g * row[i]
            grad[c][d] += g
    for c in range(k):
        for i in range(d + 1):
            w[c][i] -= args.learning_rate * grad[c][i] / len(x)
    if epoch % 5 == 0 or epoch == args.epochs - 1:
        log("loss", round(loss / len(x), 5))


def predict(row):
    p = scores(row)
    return classes[p.index(max(p))]


accuracy = sum(predict(r) == t for r, t in zip(x_test, y_test)) / len(y_test)
log("accuracy", accuracy)
with open(os.path.join(args.model, "model.json"), "w") as f:
    json.dump({"kind": "softmax", "classes": classes, "weights": w, "learning_rate": args.learning_rate}, f)
with open(os.path.join(args.model, "metrics.json"), "w") as f:
    json.dump({"model": "softmax", "accuracy": accuracy, "learning_rate": args.learning_rate}, f)
print(f"softmax regression: learning rate {args.learning_rate}, test accuracy {accuracy:.3f}")
