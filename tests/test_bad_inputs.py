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

from tasks.music import data as music_data
from tasks.music.model import MAX_SCORED_EVENTS
from tests.conftest import ROOT
from zoo import export
from zoo.language_model import MAX_SAMPLE_LENGTH, MAX_SAMPLED_TOKENS, MAX_SAMPLES

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
# The sampling endpoints' arguments (char_lm's `sample`, music's `generate`): each case's arguments and, for an
# argument out of range, what the clear error names (None: a defined output). "count" is the number of samples.
NAN, INF = float("nan"), float("inf")
SAMPLING_ARGUMENTS = {
    "temperature 0 (greedy)": ({"temperature": 0.0}, None),
    "temperature 1e-30": ({"temperature": 1e-30}, None),
    "temperature 1e30": ({"temperature": 1e30}, None),
    "temperature -1": ({"temperature": -1.0}, "temperature must be a finite number >= 0"),
    "temperature NaN": ({"temperature": NAN}, "temperature must be a finite number >= 0"),
    "temperature infinite": ({"temperature": INF}, "temperature must be a finite number >= 0"),
    "top_k -1": ({"top_k": -1}, "top_k must be >= 0"),
    "top_k 1,000,000": ({"top_k": 1_000_000}, None),
    "top_p 0": ({"top_p": 0.0}, None),
    "top_p 1.5": ({"top_p": 1.5}, r"top_p must be in \[0, 1\]"),
    "top_p NaN": ({"top_p": NAN}, r"top_p must be in \[0, 1\]"),
    "seed largest int32": ({"seed": 2**31 - 1}, None),
    "no samples": ({"count": 0}, None),
    "negative samples": ({"count": -1}, "the number of samples must be in"),
    "too many samples": ({"count": MAX_SAMPLES + 1}, "the number of samples must be in"),
}
GENERATE_ARGUMENTS = {
    "no new events": ({"num_events": 0}, None),
    "negative events": ({"num_events": -1}, "the tokens to draw per sample must be in"),
    "too many events": ({"num_events": MAX_SAMPLE_LENGTH + 1}, "the tokens to draw per sample must be in"),
    "too many events in all": (
        {"num_events": MAX_SAMPLED_TOKENS // MAX_SAMPLES + 1, "num_solos": MAX_SAMPLES},
        "samples x tokens to draw must be at most",
    ),
    "primer events out of range": ({"primer": [999, -5, 3, music_data.MAX_PITCH + 1, -(2**31)]}, None),
    "primer too long": ({"primer": [60] * (MAX_SAMPLE_LENGTH + 1)}, "a primer is at most"),
    "condition not UTF-8": ({"condition": b"\xff\xfe"}, None),
    "condition 1 MB": ({"condition": "x" * (1 << 20)}, None),
}
# Music's `score`: events, lengths and conditions, or None for a defined output.
SCORE_ARGUMENTS = {
    "events out of range": (([[999, -5, 3, -(2**31)]], [4], [""]), None),
    "no events": ((np.zeros([2, 0]), [0, 0], ["", ""]), None),
    "no melodies": ((np.zeros([0, 3]), [], []), None),
    "a length past the events": (([[60, 62]], [3], [""]), r"each length must be in \[0, the number of events\]"),
    "a negative length": (([[60, 62]], [-1], [""]), r"each length must be in \[0, the number of events\]"),
    "lengths for other melodies": (([[60, 62]], [2, 2], [""]), "one row each per melody"),
    "conditions for other melodies": (([[60, 62]], [2], []), "one row each per melody"),
    "a melody too long": (
        (np.full([1, MAX_SCORED_EVENTS + 1], 60), [MAX_SCORED_EVENTS + 1], [""]),
        "a melody is at most",
    ),
}


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


def _models_with(endpoint):
    return [name for name in export.available() if hasattr(_load(name), endpoint)] if MODELS_DIR.is_dir() else []


SAMPLE_MODELS, GENERATE_MODELS = _models_with("sample"), _models_with("generate")


def _sampled(name, arguments):
    """The outputs of `name`'s sampling endpoint on its defaults changed by `arguments`."""
    model = _load(name)
    arguments = dict(arguments)
    if hasattr(model, "generate"):
        defaults = {"num_events": 16, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": 0, "primer": []}
        defaults |= {"condition": "", "num_solos": arguments.pop("count", 3)}
        defaults |= arguments
        defaults["primer"] = tf.constant(defaults["primer"], tf.int32)
        return model.generate(**defaults)
    defaults = {"num_samples": arguments.pop("count", 3), "temperature": 1.0, "seed": 0, "prefix": ""}
    return model.sample(**defaults | {"top_k": 0, "top_p": 1.0} | arguments)


def _assert_sampled_is_defined(name, arguments, outputs):
    count = arguments.get("count", arguments.get("num_solos", 3))
    assert all(value.shape[0] == count for value in outputs.values())
    assert np.all(np.isfinite(outputs["log_prob"].numpy()))
    again = _sampled(name, arguments)  # the same arguments, the same output
    for key, value in outputs.items():
        np.testing.assert_array_equal(value.numpy(), again[key].numpy(), err_msg=key)
    if "events" in outputs and count:
        events = outputs["events"].numpy()
        assert np.all((events >= -2) & (events <= music_data.MAX_PITCH)), events
        assert events.shape[1] == len(arguments.get("primer", [])) + arguments.get("num_events", 16)


@pytest.mark.parametrize("name", SAMPLE_MODELS + GENERATE_MODELS)
@pytest.mark.parametrize("kind", SAMPLING_ARGUMENTS)
def test_sampling_arguments_give_a_defined_output_or_a_clear_error(name, kind):
    arguments, error = SAMPLING_ARGUMENTS[kind]
    if error:
        with pytest.raises(tf.errors.InvalidArgumentError, match=error):
            _sampled(name, arguments)
    else:
        _assert_sampled_is_defined(name, arguments, _sampled(name, arguments))


@pytest.mark.parametrize("name", SAMPLE_MODELS)
@pytest.mark.parametrize("kind", TEXT_INPUTS)
def test_a_prefix_gives_samples_that_continue_it_or_a_clear_error_when_too_long(name, kind):
    prefix = TEXT_INPUTS[kind]
    if len(prefix) >= MAX_SAMPLE_LENGTH:
        with pytest.raises(tf.errors.InvalidArgumentError, match="a primer is at most"):
            _sampled(name, {"prefix": prefix})
        return
    outputs = _sampled(name, {"prefix": prefix})
    _assert_sampled_is_defined(name, {"prefix": prefix}, outputs)
    # The prefix comes back as given, NUL bytes and undecodable bytes included.
    given = prefix if isinstance(prefix, bytes) else prefix.encode()
    assert all(text.startswith(given) for text in outputs["text"].numpy())


@pytest.mark.parametrize("name", GENERATE_MODELS)
@pytest.mark.parametrize("kind", GENERATE_ARGUMENTS)
def test_generate_arguments_give_a_defined_output_or_a_clear_error(name, kind):
    arguments, error = GENERATE_ARGUMENTS[kind]
    if error:
        with pytest.raises(tf.errors.InvalidArgumentError, match=error):
            _sampled(name, arguments)
        return
    outputs = _sampled(name, arguments)
    _assert_sampled_is_defined(name, arguments, outputs)
    if kind == "primer events out of range":
        # Read as the model reads them: pitches folded by octaves into range, other negative events held.
        read = outputs["events"].numpy()[0, :5]
        assert read.tolist() == [
            999 - 12 * math.ceil((999 - music_data.MAX_PITCH) / 12),
            -2,
            3 + 12 * math.ceil((music_data.MIN_PITCH - 3) / 12),
            music_data.MAX_PITCH + 1 - 12,
            -2,
        ]


@pytest.mark.parametrize("name", GENERATE_MODELS)
@pytest.mark.parametrize("kind", SCORE_ARGUMENTS)
def test_score_arguments_give_a_defined_output_or_a_clear_error(name, kind):
    (events, lengths, conditions), error = SCORE_ARGUMENTS[kind]
    arguments = (
        tf.constant(events, tf.int32, shape=np.shape(events)),
        tf.constant(lengths, tf.int32, shape=[len(lengths)]),
        tf.constant(conditions, tf.string, shape=[len(conditions)]),
    )
    if error:
        with pytest.raises(tf.errors.InvalidArgumentError, match=error):
            _load(name).score(*arguments)
        return
    outputs = _load(name).score(*arguments)
    for value in outputs.values():
        assert value.shape == (len(lengths),) and np.all(np.isfinite(value.numpy()))


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


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "name, arguments, error",
    [
        ("dinos", ["--sample", "-1"], "the number of samples must be in [0, 4096], got -1"),
        ("music", ["--events", "20000"], "the tokens to draw per sample must be in [0, 16384], got 20000"),
        ("music", ["--events", "8", "--top-p", "2"], "top_p must be in [0, 1] (1 keeps every token), got 2"),
        ("music", ["7", "seven"], "takes integer seeds, got 'seven'"),
    ],
)
def test_zoo_predict_bad_arguments_exit_with_the_reason(name, arguments, error):
    if name not in export.available():
        pytest.skip(f"needs the shipped model {name} in saved_models/")
    result = subprocess.run(
        [sys.executable, "-m", "zoo", "predict", name, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == f"{name}: {error}", result.stderr
