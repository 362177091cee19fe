"""Sentiment end to end: tiny training, export, plain-TensorFlow loading, bad input, resume, mirrored."""

import csv
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tasks.sentiment import data
from tasks.sentiment.config import PRESETS, SentimentConfig
from tasks.sentiment.model import build_classifier
from tasks.sentiment.train import train_and_evaluate
from tests import fixtures
from tests.conftest import ROOT, assert_each_weight_stored_once
from tests.killed_training import InterruptAfterEpoch, SimulatedKill
from zoo.config import from_dict

BAD_INPUTS = ["", "?!... ,,, !!!", "Ça m'a plu énormément — 素晴らしい映画 🎬", "great " * 20000]


def _tiny(data_dir, tmp_path, **overrides):
    return from_dict(
        SentimentConfig, {**PRESETS["tiny"], "data_dir": str(data_dir), "out_dir": str(tmp_path), **overrides}
    )


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory):
    """Generated reviews in the real files' format: the tiny runs need no data directory."""
    return fixtures.write_imdb(tmp_path_factory.mktemp("imdb_fixture"))


def test_real_splits_have_the_official_sizes(imdb_dir):
    splits = data.make_splits(from_dict(SentimentConfig, {"data_dir": str(imdb_dir)}))
    assert splits.sizes() == {"train": 22500, "validation": 2500, "test": 25000}
    assert splits.test.labels.sum() == 12500


def test_sentences_and_spans_are_short_pieces_of_their_reviews(generated_dir, tmp_path):
    reviews = data.Reviews(
        ["Too short. This one has enough words in it! And the last one does as well.<br />", "No."],
        np.array([1, 0], np.int32),
    )
    assert data.sentences(reviews, "last").texts == ["And the last one does as well."]
    assert data.sentences(reviews, "random").texts[0] in {
        "This one has enough words in it!",
        "And the last one does as well.",
    }

    config = _tiny(generated_dir, tmp_path, span_share=1.5, span_min_tokens=3, span_max_tokens=5)
    splits = data.make_splits(config)
    vectorizer = data.text.build_vectorizer(splits.train.texts, config.vocab_size)
    token_ids = data.vectorize(splits.train, vectorizer, config)
    reviews = {tuple(row): label for row, label in zip(token_ids.to_list(), splits.train.labels)}
    spans = list(data.span_batches(token_ids, splits.train.labels, config).unbatch())
    assert len(spans) == round(1.5 * len(splits.train.labels))
    for ids, label in spans:
        ids = [int(i) for i in ids if i != data.text.PAD_ID]
        assert 1 <= len(ids) <= 5
        assert any(  # a contiguous piece of a review with the same label
            tuple(row[start : start + len(ids)]) == tuple(ids) and reviews[tuple(row)] == label
            for row in reviews
            for start in range(len(row) - len(ids) + 1)
        )


@pytest.mark.parametrize("bigram_buckets", [0, 64])
def test_classifier_ignores_padding(bigram_buckets):
    classifier = build_classifier(from_dict(SentimentConfig, {**PRESETS["tiny"], "bigram_buckets": bigram_buckets}))
    review = np.array([[5, 17, 3]])
    padded = np.array([[5, 17, 3, 0, 0, 0, 0]])
    np.testing.assert_allclose(classifier(padded), classifier(review), atol=1e-6)
    np.testing.assert_allclose(classifier(np.zeros((1, 4), "int64")), classifier(np.zeros((1, 1), "int64")), atol=1e-6)


@pytest.fixture(scope="module")
def tiny_run(generated_dir, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sentiment")
    metrics = train_and_evaluate(_tiny(generated_dir, workdir))
    return workdir, metrics


def test_train_and_evaluate_writes_metrics_and_export(tiny_run):
    workdir, metrics = tiny_run
    assert json.loads((workdir / "metrics.json").read_text()) == metrics
    assert metrics["split_sizes"] == {"train": 256, "validation": 64, "test": 256} and metrics["epochs_run"] == 2
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    export_dir = workdir / "export"
    card = json.loads((export_dir / "model_card.json").read_text())
    assert card["test_metrics"] == metrics["test"] and card["validation_metrics"] == metrics["validation"]
    assert card["hyperparameters"]["recurrent"]["hidden_dim"] == 8 and card["versions"]["tensorflow"] == tf.__version__
    assert json.loads((export_dir / "config.json").read_text())["data"]["max_examples"] == 256


def test_reported_test_accuracy_is_the_exported_models(tiny_run, generated_dir):
    workdir, metrics = tiny_run
    test = data.make_splits(_tiny(generated_dir, workdir)).test
    loaded = tf.saved_model.load(str(workdir / "export" / "saved_model"))
    served = loaded.serve(tf.constant(test.texts))
    accuracy = np.mean((served["probability"].numpy() >= 0.5) == test.labels)
    assert accuracy == pytest.approx(metrics["test"]["accuracy"], abs=1e-9)


def test_saved_model_stores_each_weight_once(tiny_run):
    assert_each_weight_stored_once(tiny_run[0] / "export")


def test_saved_model_matches_keras_model(tiny_run):
    export_dir = tiny_run[0] / "export"
    reviews = ["A wonderful, touching film.", "Terrible. Boring plot<br /><br />and bad acting.", "ok"]
    loaded = tf.saved_model.load(str(export_dir / "saved_model"))
    served = loaded.serve(tf.constant(reviews))
    keras_model = keras.saving.load_model(export_dir / "model.keras")
    expected = keras_model(tf.constant(reviews)).numpy()[:, 0]
    np.testing.assert_allclose(served["probability"].numpy(), expected, atol=1e-5)
    labels = [label.decode() for label in served["label"].numpy()]
    assert labels == ["positive" if p >= 0.5 else "negative" for p in expected]


def test_bad_input_gives_defined_output_alone_and_in_a_batch(tiny_run):
    predictor = zoo.load(tiny_run[0] / "export")
    batch = predictor.predict(BAD_INPUTS + ["A fine film."])
    for text, row in zip(BAD_INPUTS, batch):
        alone = predictor.predict(text)
        assert 0.0 <= alone["probability"] <= 1.0 and alone["label"] in ("negative", "positive")
        # Padding and masking make a review's result independent of its batch mates.
        assert alone["probability"] == pytest.approx(row["probability"], abs=1e-5)


def _logged_epochs(workdir):
    with open(workdir / "history.csv") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def test_resume_continues_from_last_finished_epoch(generated_dir, tmp_path):
    config = _tiny(generated_dir, tmp_path, epochs=3)
    with pytest.raises(SimulatedKill):
        train_and_evaluate(config, callbacks=[InterruptAfterEpoch(1)])
    assert _logged_epochs(tmp_path) == [0, 1]
    assert not (tmp_path / "export").exists()

    resumed = train_and_evaluate(_tiny(generated_dir, tmp_path, epochs=3, resume=True))
    assert resumed["epochs_run"] == 3  # over both calls
    assert _logged_epochs(tmp_path) == [0, 1, 2]

    fresh = train_and_evaluate(_tiny(generated_dir, tmp_path, epochs=1))
    assert fresh["epochs_run"] == 1 and _logged_epochs(tmp_path) == [0]


def test_mirrored_strategy_on_two_logical_cpus(generated_dir, tmp_path):
    script = textwrap.dedent(
        f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from tasks.sentiment.train import main
        main(["--preset", "tiny", "--strategy", "mirrored", "--data-dir", {str(generated_dir)!r},
              "--out-dir", {str(tmp_path)!r}])
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["epochs_run"] == 2


CLEAR_POSITIVE = [
    "An absolute masterpiece. The acting is superb, the story is moving and I loved every minute of it.",
    "One of the best films I have ever seen. Brilliant direction, wonderful cast, highly recommended!",
    "I laughed, I cried, and I left the theatre smiling. A beautiful, funny and heartwarming movie.",
    "Great performances and a gripping plot. This film is a real gem and deserves every award.",
]
CLEAR_NEGATIVE = [
    "The worst movie I have ever seen. Terrible acting, a boring plot and awful dialogue. Avoid it.",
    "A complete waste of time and money. Dull, stupid and painfully long. I walked out halfway.",
    "Horrible script, wooden actors and no story at all. I regret watching this garbage.",
    "Boring, badly directed and utterly pointless. Nothing works in this dreadful film.",
]


def test_shipped_model_gets_clear_cut_reviews_right():
    predictor = zoo.load("sentiment")
    rows = predictor.predict(CLEAR_POSITIVE + CLEAR_NEGATIVE)
    assert [row["label"] for row in rows] == ["positive"] * 4 + ["negative"] * 4
    assert predictor.card["test_metrics"]["accuracy"] >= 0.89


def test_shipped_model_handles_bad_input():
    rows = zoo.load("sentiment").predict(BAD_INPUTS)
    assert all(np.isfinite(row["probability"]) and 0 <= row["probability"] <= 1 for row in rows)


def test_zoo_command_line_predict_list_and_demo():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = [sys.executable, "-m", "zoo"]
    predicted = subprocess.run(
        run + ["predict", "sentiment", CLEAR_NEGATIVE[0]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert '"label": "negative"' in predicted.stdout
    listed = subprocess.run(run + ["list"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert any(line.startswith("sentiment: ") for line in listed.stdout.splitlines())
    demo = subprocess.run(run + ["demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0 and "== sentiment" in demo.stdout
    if (ROOT / "saved_models" / "trigger_word").is_dir():  # an audio model's examples are files in its export
        example = demo.stdout.split("== trigger_word", 1)[1].split("\n==", 1)[0]
        assert json.loads(example.split("'example.wav'\n    -> ", 1)[1])["num_events"] >= 2
