"""Training that dies and training on several machines, through the real commands in subprocesses.

Kill and resume, for every task: `python -m tasks.<task>.train` is killed with SIGKILL in the middle of its
second epoch (`tests.killed_training`), run again with `--resume`, and compared with the same command run
without interruption; then a re-export of that run is killed while it writes, and the export it was replacing
must still load. Multi-worker: two workers of `--strategy multi_worker` on this machine.
"""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import zoo
from tests import fixtures
from tests.conftest import ROOT
from zoo import training

pytestmark = pytest.mark.starts_first  # minutes of training in subprocesses

EPOCHS = 2
TIMEOUT_S = 600


def _imdb(tmp_path, request):
    return ["--data-dir", str(fixtures.write_imdb(tmp_path / "imdb"))]


def _conll(tmp_path, request):
    return ["--data-dir", str(fixtures.write_conll(tmp_path / "conll")), "--max-examples", "64"]


def _names(tmp_path, request):
    rng = np.random.default_rng(0)
    names = sorted({"".join(rng.choice(["ta", "ro", "ku", "men", "sau", "li"], 3)) + "rus" for _ in range(300)})
    (tmp_path / "names.txt").write_text("\n".join(names) + "\n")
    return ["--text-file", str(tmp_path / "names.txt"), "--max-examples", "0"]


def _trigger_word(tmp_path, request):
    config = request.getfixturevalue("tiny_trigger_word_config")
    return ["--trigger-word", config.trigger_word, "--cache-dir", config.cache_dir]


# The tiny run of each task, as its own tests train it: task -> a function of a scratch directory and the
# test's request for fixtures, returning the flags beyond `--preset tiny` (writing any data it needs there).
TINY_FLAGS = {
    "sentiment": _imdb,
    "ner": _conll,
    "translation": lambda tmp_path, request: [],
    "music": lambda tmp_path, request: ["--max-examples", "30"],
    "char_lm": _names,
    "trigger_word": _trigger_word,
}


def _command(task, flags, out_dir, *extra):
    return [sys.executable, "-m", f"tasks.{task}.train", "--preset", "tiny", "--epochs", str(EPOCHS), *flags,
            "--out-dir", str(out_dir), *extra]  # fmt: skip


def _run(command):
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process, expected_returncode=0):
    output, _ = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == expected_returncode, output[-3000:]


def _history(run_dir):
    with open(run_dir / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("task", sorted(TINY_FLAGS))
def test_killed_training_resumes_and_killed_export_keeps_the_previous(task, tmp_path, request):
    flags = TINY_FLAGS[task](tmp_path, request)
    uninterrupted, interrupted = tmp_path / "uninterrupted", tmp_path / "interrupted"
    reference = _run(_command(task, flags, uninterrupted))
    killed = _run([sys.executable, "-m", "tests.killed_training", task, "1", *_command(task, flags, interrupted)[3:]])
    _finish(killed, -signal.SIGKILL)
    # Killed after the first batch of the second epoch: the first is kept, nothing is exported.
    assert [row["epoch"] for row in _history(interrupted)] == ["0"]
    assert (interrupted / "backup").is_dir() and not (interrupted / "export").exists()

    _finish(_run(_command(task, flags, interrupted, "--resume")))
    _finish(reference)
    resumed_rows, reference_rows = _history(interrupted), _history(uninterrupted)
    # Every epoch trained once; the first one, finished before the kill, is the uninterrupted run's own.
    assert [row["epoch"] for row in resumed_rows] == [str(epoch) for epoch in range(EPOCHS)]
    assert resumed_rows[0] == reference_rows[0]
    metrics = json.loads((interrupted / "metrics.json").read_text())
    assert metrics["epochs_run"] == EPOCHS
    # After the kill the second epoch reads its batches in another order than the uninterrupted run (the
    # shuffle starts again with the process), so the runs agree in loss, not bit for bit.
    resumed_loss, reference_loss = float(resumed_rows[-1]["val_loss"]), float(reference_rows[-1]["val_loss"])
    assert math.isfinite(resumed_loss) and resumed_loss == pytest.approx(reference_loss, rel=0.05)

    export_dir = interrupted / "export"
    before = zoo.load(export_dir).card
    reexport = _run(_command(task, flags, interrupted, "--reexport", str(export_dir)))
    deadline = time.monotonic() + TIMEOUT_S
    while not list(tmp_path.glob("interrupted/.export.tmp-*")):
        assert reexport.poll() is None, "the re-export ended before it was killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    reexport.send_signal(signal.SIGKILL)
    _finish(reexport, -signal.SIGKILL)
    assert zoo.load(export_dir).card == before


def test_two_workers_train_in_step_and_only_the_chief_publishes(tmp_path, request):
    data_flags = _imdb(tmp_path, request)
    run_dir = tmp_path / "run"
    command = _command("sentiment", data_flags, run_dir, "--strategy", "multi_worker")
    workers = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(os.environ, TF_CONFIG=tf_config),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for tf_config in training.local_cluster(2)
    ]
    try:
        for worker in workers:
            _finish(worker)
    finally:
        for worker in workers:
            worker.kill()
    chief_rows, worker_rows = _history(run_dir), _history(run_dir / "worker-1")
    assert chief_rows == worker_rows and len(chief_rows) == EPOCHS  # one synchronized model
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["epochs_run"] == EPOCHS
    assert not (run_dir / "worker-1" / "export").exists() and not (run_dir / "worker-1" / "metrics.json").exists()
    predictor = zoo.load(run_dir / "export")
    assert predictor.card["hyperparameters"]["strategy"] == "multi_worker"
    assert len(predictor.predict(["A fine film.", "Dull."])) == 2
