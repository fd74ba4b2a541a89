"""pipebook's helper for steps written in Python: no install needed, the engine puts it on PYTHONPATH.

    from pipebook_run import log, input_path, input_datasets, output_path, parameter
    log("accuracy", 0.93)          # a scalar metric
    log("loss", 0.4); log("loss", 0.3)   # logging a name again makes a series
"""
import json
import math
import os

__all__ = ["log", "log_list", "input_path", "input_datasets", "output_path", "parameter", "run_id", "step_name"]

# The step's dataset inputs by name -> where each lies (the seeds' run.input_datasets).
input_datasets = json.loads(os.environ.get("PIPEBOOK_INPUT_DATASETS") or "{}")


def _key(name):
    return "".join(c if c.isalnum() else "_" for c in name).upper()


def log(name, value):
    """Records a metric (a number, or a short string) for this step run."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError("pipebook_run.log(%r, ...): value must be a number or a string, got %s" % (name, type(value).__name__))
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value)
    path = os.environ.get("PIPEBOOK_METRICS_FILE")
    line = json.dumps({"name": str(name), "value": value})
    if not path:
        print("[pipebook metric] " + line)
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def log_list(name, values):
    for v in values:
        log(name, v)


def input_path(name):
    return os.environ["PIPEBOOK_INPUT_" + _key(name)]


def output_path(name):
    return os.environ["PIPEBOOK_OUTPUT_" + _key(name)]


def parameter(name, default=None):
    raw = os.environ.get("PIPEBOOK_PARAM_" + _key(name))
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def run_id():
    return os.environ.get("PIPEBOOK_RUN_ID")


def step_name():
    return os.environ.get("PIPEBOOK_STEP_NAME")
