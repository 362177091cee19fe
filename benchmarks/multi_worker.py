"""Training throughput of `--strategy multi_worker` with 2 workers against 1 process, on this machine.

    python -m benchmarks.multi_worker [--data-dir DIR] [--max-examples 4000] [--epochs 1]

Both run the real sentiment command (`python -m tasks.sentiment.train`, default model, the same global
batch) as subprocesses started from here, one after the other: the reference as one process with the
default strategy, then two workers of one `MultiWorkerMirroredStrategy` cluster on 127.0.0.1. Throughput is
training reviews (whole reviews and spans) per second of `fit` as each run's `training_time_s` counts it.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from zoo import export, training

ROOT = Path(__file__).resolve().parents[1]


def run(workers, data_dir, max_examples, epochs, out_dir):
    """Trains with `workers` processes (1: default strategy) and returns the chief's metrics."""
    command = [sys.executable, "-m", "tasks.sentiment.train", "--max-examples", str(max_examples)]
    command += ["--epochs", str(epochs), "--out-dir", str(out_dir)]
    command += ["--data-dir", data_dir] if data_dir else []
    environments = [dict(os.environ)]
    if workers > 1:
        command += ["--strategy", "multi_worker"]
        environments = [dict(os.environ, TF_CONFIG=tf_config) for tf_config in training.local_cluster(workers)]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for env in environments
    ]
    for process in processes:
        _, errors = process.communicate()
        if process.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{errors[-3000:]}")
    return json.loads((Path(out_dir) / "metrics.json").read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR"))
    parser.add_argument("--max-examples", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        for workers in (1, 2):
            metrics = run(workers, args.data_dir, args.max_examples, args.epochs, Path(scratch) / f"workers{workers}")
            card = export.read_card(Path(scratch) / f"workers{workers}" / "export")
            reviews = metrics["split_sizes"]["train"] * args.epochs * (1 + card["hyperparameters"]["span_share"])
            rows[workers] = reviews / metrics["training_time_s"], metrics
    print(f"{'workers':>8} {'replicas':>8} {'reviews/s':>10} {'val accuracy':>13} {'test accuracy':>14}")
    for workers, (rate, metrics) in rows.items():
        print(
            f"{workers:>8} {metrics['replicas']:>8} {rate:>10.1f} {metrics['validation']['accuracy']:>13.4f} "
            f"{metrics['test']['accuracy']:>14.4f}"
        )
    print(f"2 workers / 1 process: {rows[2][0] / rows[1][0]:.2f}x (os.cpu_count() = {os.cpu_count()})")


if __name__ == "__main__":
    main()
