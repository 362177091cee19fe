"""The fuzz suite: every export in saved_models/, loaded with plain `tf.saved_model.load` and run through
`python -m zoo predict`, on inputs nobody tried. One table per input kind. Each input gets a defined output
(finite numbers, one row per input, a row that does not depend on its batch mates) or a clear error; the
per-test timeout bounds the time, so a hang fails the suite."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import ROOT
from zoo import export

MODELS_DIR = ROOT / "saved_models"
TEXT_INPUTS = {
    "empty": "",
    "whitespace": " \t\n\r\u00a0\u2003 ",
    "control characters": "a\x01\x02\x1b[31mb\x7f\x9f",
    "NUL bytes": "ab\x00\x00cd",
    "invalid UTF-8": b"\xff\xfe\xc3(abc\x80",
    "1 MB string": "word " * 200_000,
    "100,000 tokens": " ".join(["token"] * 100_000),
    "mixed scripts and emoji": "Привет 世界 مرحبا नमस्ते 🙂👍🏽 ok",
    "one character": "x",
}
# A command line cannot carry NUL bytes, and Linux caps one argument at 128 KiB.
CLI_TEXT_INPUTS = ["", " \t ", "a\x01\x1b[31mb", "Привет 世界 🙂👍🏽", " ".join(["token"] * 20_000)]
AUDIO_INPUTS = {
    "silence": np.zeros(16000, np.float32),
    "shorter than one window": np.full(100, 0.3, np.float32),
    "NaN samples": np.where(np.arange(16000) % 7 == 0, np.nan, 0.1).astype(np.float32),
    "infinite samples": np.where(np.arange(16000) % 5 == 0, np.inf, -0.1).astype(np.float32),
    "clipping": np.sign(np.sin(np.arange(16000) / 3.0)).astype(np.float32) * 8.0,
    "one sample": np.ones(1, np.float32),
}
SEED_INPUTS = {"zero": 0, "negative": -7, "largest int32": 2**31 - 1, "smallest int32": -(2**31)}


def _card(name):
    return json.loads((MODELS_DIR / name / export.CARD).read_text())


_LOADED = {}


def _load(name):
    """An export loaded with nothing but TensorFlow, once per session."""
    if name not in _LOADED:
        _LOADED[name] = tf.saved_model.load(str(MODELS_DIR / name / "saved_model"))
    return _LOADED[name]


def _models_taking(dtype, rank):
    """The shipped models whose `serve` takes one input of `dtype` and `rank`."""
    names = []
    for name in export.available() if MODELS_DIR.is_dir() else []:
        (spec,) = _load(name).signatures["serve"].structured_input_signature[1].values()
        if spec.dtype == dtype and spec.shape.rank == rank:
            names.append(name)
    return names


def _rows(outputs, card):
    """The batch's outputs as one dict per row, each sequence output cut to its row's own length."""
    outputs = {key: value.numpy() for key, value in outputs.items()}
    rows = [{key: value[index] for key, value in outputs.items()} for index in range(len(next(iter(outputs.values()))))]
    return export.cut_to_lengths(rows, card)


def _assert_finite(row):
    for key, value in row.items():
        value = np.asarray(value)
        if value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), f"{key} is not finite: {value}"


def _assert_same_row(row, alone):
    assert row.keys() == alone.keys()
    for key in row:
        if np.asarray(row[key]).dtype.kind == "f":
            np.testing.assert_allclose(row[key], alone[key], rtol=1e-4, atol=1e-5, err_msg=key)
        else:
            np.testing.assert_array_equal(row[key], alone[key], err_msg=key)


TEXT_MODELS = _models_taking(tf.string, 1)
AUDIO_MODELS = _models_taking(tf.float32, 2)
SEED_MODELS = _models_taking(tf.int32, 1)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", TEXT_MODELS)
@pytest.mark.parametrize("kind", TEXT_INPUTS)
def test_text_input_gives_a_defined_output_whatever_its_batch_mates(name, kind):
    model, card = _load(name), _card(name)
    good = str(card["examples"][0])
    bad = TEXT_INPUTS[kind]
    mixed = _rows(model.serve(tf.constant([good, bad, good])), card)
    assert len(mixed) == 3
    for row in mixed:
        _assert_finite(row)
    _assert_same_row(mixed[0], _rows(model.serve(tf.constant([good])), card)[0])
    _assert_same_row(mixed[1], _rows(model.serve(tf.constant([bad])), card)[0])
    _assert_same_row(mixed[2], mixed[0])


@pytest.mark.parametrize("name", TEXT_MODELS + AUDIO_MODELS + SEED_MODELS)
def test_an_empty_batch_gives_empty_outputs_and_a_wrong_dtype_or_rank_a_clear_error(name):
    model = _load(name)
    (spec,) = model.signatures["serve"].structured_input_signature[1].values()
    empty = (
        tf.zeros([0] + [1] * (spec.shape.rank - 1), spec.dtype)
        if spec.dtype != tf.string
        else tf.constant([], tf.string)
    )
    for value in model.serve(empty).values():
        assert value.shape[0] == 0
    wrong_dtype = tf.fill([1] * spec.shape.rank, "x" if spec.dtype == tf.float32 else 1.5)
    wrong_rank = tf.zeros([1] * (spec.shape.rank + 1), spec.dtype)
    for wrong in (wrong_dtype, wrong_rank):
        with pytest.raises((TypeError, ValueError), match="(?i)signature|cast|shape|dtype"):
            model.serve(wrong)


@pytest.mark.parametrize("name", AUDIO_MODELS)
@pytest.mark.parametrize("kind", AUDIO_INPUTS)
def test_audio_input_gives_a_defined_output_whatever_its_batch_mates(name, kind):
    model, card = _load(name), _card(name)
    rng = np.random.default_rng(0)
    good = (0.05 * rng.standard_normal(16000)).astype(np.float32)
    bad = AUDIO_INPUTS[kind]
    length = max(len(good), len(bad))
    batch = np.zeros([3, length], np.float32)
    batch[0, : len(good)], batch[1, : len(bad)], batch[2, : len(good)] = good, bad, good
    rows = _rows(model.serve(tf.constant(batch)), card)
    for row in rows:
        _assert_finite(row)
        assert row["num_events"] >= 0
    alone = _rows(model.serve(tf.constant(bad[None])), card)[0]
    steps = len(alone["probabilities"])  # a row's steps past its own end are padding
    np.testing.assert_allclose(rows[1]["probabilities"][:steps], alone["probabilities"], atol=1e-5)
    if kind in ("silence", "shorter than one window", "one sample"):
        assert alone["num_events"] == 0


@pytest.mark.parametrize("name", SEED_MODELS)
@pytest.mark.parametrize("kind", SEED_INPUTS)
def test_seed_input_gives_a_defined_output_whatever_its_batch_mates(name, kind):
    model, card = _load(name), _card(name)
    seed = SEED_INPUTS[kind]
    rows = _rows(model.serve(tf.constant([3, seed, 3], tf.int32)), card)
    alone = _rows(model.serve(tf.constant([seed], tf.int32)), card)[0]
    _assert_same_row(rows[1], alone)
    _assert_same_row(rows[0], rows[2])
    for row in rows:
        _assert_finite(row)


@pytest.mark.timeout(600)
def test_zoo_predict_on_the_command_line():
    """Every text model at once (each command is mostly TensorFlow's start-up), on the inputs a shell can pass and
    an argument that is not UTF-8."""
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "zoo", "predict", name, *CLI_TEXT_INPUTS, "\udcff invalid byte"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="surrogateescape",
        )
        for name in TEXT_MODELS
    }
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, f"{name}: {stderr[-2000:]}"
        lines = stdout.splitlines()
        assert len(lines) == len(CLI_TEXT_INPUTS) + 1, name
        for line in lines:
            row = json.loads(line.split(" -> ", 1)[1])
            assert all(math.isfinite(value) for value in row.values() if isinstance(value, float)), (name, line)
