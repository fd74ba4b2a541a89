"""Split the iris table into train/test and standardise the features (standard library only)."""
import argparse
import csv
import os
import random

from pipebook_run import log

parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True, help="iris CSV file")
parser.add_argument("--output", required=True, help="folder for train.csv and test.csv")
parser.add_argument("--test_fraction", type=float, default=0.2)
args = parser.parse_args()

with open(args.input, newline="") as f:
    rows = list(csv.DictReader(f))
features = [c for c in rows[0].keys() if c != "species"]

random.Random(42).shuffle(rows)
n_test = int(len(rows) * args.test_fraction)
test, train = rows[:n_test], rows[n_test:]

means = {c: sum(float(r[c]) for r in train) / len(train) for c in features}
stds = {c: (sum((float(r[c]) - means[c]) ** 2 for r in train) / len(train)) ** 0.5 for c in features}

def write(name, part):
    with open(os.path.join(args.output, name), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(features + ["species"])
        for r in part:
            w.writerow([round((float(r[c]) - means[c]) / stds[c], 6) for c in features] + [r["species"]])

write("train.csv", train)
write("test.csv", test)
log("train_rows", len(train))
log("test_rows", len(test))
print(f"prepared {len(train)} training and {len(test)} test rows with features {features}")
