"""Helpers shared by the training scripts of this folder."""
import csv
import os


def load(folder, name):
    with open(os.path.join(folder, name), newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    x = [[float(v) for v in r[:-1]] for r in body]
    y = [r[-1] for r in body]
    return header[:-1], x, y
