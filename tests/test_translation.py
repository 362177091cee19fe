"""Translation task: the dates generator, the pair split, tokenization, tiny train -> export -> plain
SavedModel, bad input, and the shipped models."""

import datetime
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from data_pipelines import corpora, sources
from tasks.translation import data, dates
from tasks.translation.config import PRESETS, TranslationConfig
from tasks.translation.model import build_translator
from tasks.translation.train import train_and_evaluate
from tests.conftest import ROOT, assert_each_weight_stored_once
from zoo.config import from_dict

BAD_INPUTS = [
    "",
    "   \t ",
    "3 March 2021 " * 77,  # 1,001 characters, cut to max_source_length inside the model
    "二〇二一年三月三日 ☃",  # characters never seen in training
    "3rd of March 2021",
]


@pytest.fixture(scope="session")
def anki_dir(data_dir):
    if not (data_dir / "anki" / "spa.txt.gz").is_file():
        pytest.skip(f"needs {data_dir}/anki/spa.txt.gz")
    return data_dir


def test_dates_are_seeded_and_each_target_is_the_iso_date():
    sources_a, targets_a = dates.generate(300, seed=5)
    assert (sources_a, targets_a) == dates.generate(300, seed=5)
    assert sources_a != dates.generate(300, seed=6)[0]
    for target in targets_a:
        parsed = datetime.date.fromisoformat(target)
        assert dates.FIRST_DAY <= parsed <= dates.LAST_DAY and len(target) == 10
    # Many surface forms: Babel locales, numeric formats, English ordinals.
    assert len({source.split()[0] for source in sources_a}) > 100
    assert any("of" in source for source in sources_a) and any("." in source for source in sources_a)


def test_date_formats_are_unambiguous():
    # Day and month swapped must render differently in every numeric format.
    rng = np.random.default_rng(0)
    for locale, pattern in dates.NUMERIC_FORMATS:
        a = dates.format_date(datetime.date(2001, 3, 4), pattern, locale=locale)
        b = dates.format_date(datetime.date(2001, 4, 3), pattern, locale=locale)
        assert a != b and "2001" in a
    assert "2001" in dates.human_readable(datetime.date(2001, 3, 4), rng)


def test_date_splits_keep_test_inputs_out_of_training():
    splits = dates.date_splits(train_size=2000, validation_size=300, test_size=500, seed=0)
    assert {name: len(pair[0]) for name, pair in splits.items()} == {"train": 2000, "validation": 300, "test": 500}
    train = set(splits["train"][0])
    assert not train & set(splits["test"][0]) and not train & set(splits["validation"][0])
    assert not set(splits["validation"][0]) & set(splits["test"][0])


def test_word_tokenization_splits_punctuation_and_keeps_apostrophes():
    tokens = data.tokenize(tf.constant(["¿Dónde  está Tom's perro?", ""]), "word", lowercase=True)
    assert tokens.to_list() == [[t.encode() for t in ["¿", "dónde", "está", "tom's", "perro", "?"]], []]
    text = data.detokenize(data.tokenize(tf.constant(["It's 3:30, twenty-one (x)."]), "word"), "word")
    assert text.numpy()[0].decode() == "It's 3:30, twenty-one (x)."
    chars = data.tokenize(tf.constant(["Ab 1"]), "char", lowercase=True)
    assert chars.to_list() == [[b"a", b"b", b" ", b"1"]]


def test_split_pairs_is_deterministic_exact_and_shares_no_source():
    rng = np.random.default_rng(1)
    sources_ = [f"Frase {rng.integers(300)}{'!' if rng.random() < 0.5 else '.'}" for _ in range(1000)]
    targets = [f"Sentence {i}" for i in range(1000)]
    splits = data.split_pairs(sources_, targets, test_size=100, validation_size=50, seed=3)
    assert splits == data.split_pairs(sources_, targets, test_size=100, validation_size=50, seed=3)
    assert splits.sizes()["test"] == 100 and splits.sizes()["validation"] == 50
    keys = {name: {data.source_key(s) for s in pairs.sources} for name, pairs in splits._asdict().items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]


def test_real_spanish_split(anki_dir):
    config = from_dict(TranslationConfig, {"data_dir": str(anki_dir)})
    splits = data.load_splits(config)
    sizes = splits.sizes()
    assert sizes == {"train": 110_121, "validation": 3000, "test": 5000}
    train_keys = {data.source_key(s) for s in splits.train.sources}
    assert not any(data.source_key(s) in train_keys for s in splits.test.sources)
    assert splits.test.sources[0] and splits.test.targets[0]


def test_missing_pairs_name_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    with pytest.raises(sources.DataNotFoundError, match="anki/fra.txt.gz"):
        corpora.load_anki("fra", tmp_path)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("translation_tiny")
    config = from_dict(TranslationConfig, {**PRESETS["tiny"], "out_dir": str(workdir)})
    return workdir, train_and_evaluate(config)


def test_gru_encoder_of_two_layers_translates_and_survives_save_and_load(tmp_path):
    """The encoder is the shared `RecurrentStack`: any cell (a GRU hands the bridge one state per direction,
    an LSTM two) and depth, named by the `recurrent` section (flat names, as older config.json files have
    them, land there)."""
    config = from_dict(TranslationConfig, {**PRESETS["tiny"], "cell": "gru", "num_layers": 2, "dropout": 0.1})
    assert config.recurrent.cell == "gru" and config.recurrent.hidden_dim == 8
    model = build_translator(config, list("0123456789 -abcdefghijklmnopqrstuvwxyz"), list("0123456789-"))
    sentences = tf.constant(["3rd of March 2021", ""])
    source_ids = model.source_ids(sentences)
    logits, _ = model.teacher_forced(source_ids, tf.constant([[data.START_ID, 5, 6]] * 2))
    assert logits.shape == (2, 3, model.target_vocab_size)
    model.save(tmp_path / "gru.keras")
    loaded = keras.saving.load_model(tmp_path / "gru.keras")
    assert loaded.cell == "gru" and loaded.num_layers == 2
    expected, actual = model.translate(sentences, 2, 0.5), loaded.translate(sentences, 2, 0.5)
    np.testing.assert_array_equal(expected["translation"].numpy(), actual["translation"].numpy())
    np.testing.assert_allclose(expected["score"].numpy(), actual["score"].numpy(), rtol=1e-6)


def test_tiny_train_export_and_plain_saved_model_match_keras(tiny_run):
    workdir, metrics = tiny_run
    assert set(metrics["test"]) == {"exact_match_greedy", "exact_match_beam4"} and "training_time_s" in metrics
    assert json.loads((workdir / "metrics.json").read_text()) == metrics
    export_dir = workdir / "export"
    model = keras.saving.load_model(export_dir / "model.keras")
    loaded = tf.saved_model.load(str(export_dir / "saved_model"))
    sentences = tf.constant(["3rd of March 2021", "31.12.1999", "mardi 4 juillet 1978"])
    for beam_width, alpha in ((1, 0.0), (3, 0.7)):
        expected = model.translate(sentences, beam_width, alpha)
        actual = loaded.translate(sentences, tf.constant(beam_width), tf.constant(alpha))
        np.testing.assert_array_equal(expected["translation"].numpy(), actual["translation"].numpy())
        np.testing.assert_allclose(expected["score"].numpy(), actual["score"].numpy(), rtol=1e-5)
    card = json.loads((export_dir / "model_card.json").read_text())
    default = loaded.signatures["serve"](sentences=sentences)
    expected = model.translate(
        sentences, card["hyperparameters"]["beam_width"], card["hyperparameters"]["length_alpha"]
    )
    np.testing.assert_array_equal(default["translation"].numpy(), expected["translation"].numpy())


def test_attention_endpoint_matches_keras_and_translate(tiny_run):
    workdir, _ = tiny_run
    model = keras.saving.load_model(workdir / "export" / "model.keras")
    loaded = tf.saved_model.load(str(workdir / "export" / "saved_model"))
    sentences = tf.constant(["3rd of March 2021", "", "31.12.1999"])
    actual = loaded.attention(sentences, tf.constant(2), tf.constant(0.5))
    expected = model.translate_with_attention(sentences, 2, 0.5)
    for name in ("translation", "source_tokens", "output_tokens"):
        np.testing.assert_array_equal(actual[name].numpy(), expected[name].numpy())
    np.testing.assert_allclose(actual["attention"].numpy(), expected["attention"].numpy(), atol=1e-6)
    translated = loaded.translate(sentences, tf.constant(2), tf.constant(0.5))
    np.testing.assert_array_equal(actual["translation"].numpy(), translated["translation"].numpy())
    np.testing.assert_allclose(actual["score"].numpy(), translated["score"].numpy(), rtol=1e-5)
    produced = actual["output_tokens"].numpy() != b""
    np.testing.assert_allclose(actual["attention"].numpy().sum(-1)[[0, 2]][produced[[0, 2]]], 1.0, rtol=1e-5)
    assert actual["source_tokens"].numpy()[0, :3].tolist() == [b"3", b"r", b"d"]
    assert not actual["source_tokens"].numpy()[1].any() and np.all(actual["attention"].numpy()[1] == 0.0)


def test_export_stores_each_weight_once(tiny_run):
    assert_each_weight_stored_once(tiny_run[0] / "export")


def test_bad_input_gives_defined_output(tiny_run):
    workdir, _ = tiny_run
    rows = zoo.load(workdir / "export").predict(BAD_INPUTS)
    assert [row["translation"] for row in rows[:2]] == ["", ""]
    for row in rows:
        assert isinstance(row["translation"], str) and np.isfinite(row["score"])
        assert len(row["translation"]) <= 12  # max_target_length characters
    # Each input's translation is the same alone as in the mixed batch.
    alone = [zoo.load(workdir / "export").predict(text) for text in BAD_INPUTS]
    assert [row["translation"] for row in alone] == [row["translation"] for row in rows]


def test_teacher_forced_attention(tiny_run):
    workdir, _ = tiny_run
    model = keras.saving.load_model(workdir / "export" / "model.keras")
    source_ids = model.source_ids(tf.constant(["3rd of March 2021", ""]))
    _, weights = model.teacher_forced(source_ids, tf.constant([[data.START_ID, 5], [data.START_ID, 5]]))
    np.testing.assert_allclose(tf.reduce_sum(weights[0], -1).numpy(), 1.0, rtol=1e-5)
    assert np.all(weights[1].numpy() == 0.0)


def test_error_analysis_and_attention_map(tiny_run, tmp_path):
    from tasks.translation import analyze, attention_map
    from tasks.translation.model import load_translator

    workdir, _ = tiny_run
    model, config = load_translator(workdir / "export")
    sources_, references = dates.generate(40, seed=99)
    result = analyze.analyze(model, sources_, references, beam_width=2, alpha=0.0)
    assert result["total"] == 40 and sum(result["counts"].values()) == result["errors"]
    for example in result["examples"]["model"]:
        assert example["output_score"] >= example["reference_score"] - 1e-3
    for example in result["examples"]["search"]:
        assert example["reference_score"] > example["output_score"]

    source_tokens, output_tokens, weights, translation = attention_map.attention_weights(
        model, "3rd of May 2001", 2, 0.0
    )
    assert source_tokens[:3] == ["3", "r", "d"] and output_tokens[-1] == data.END
    assert weights.shape == (len(output_tokens), len(source_tokens))
    path = tmp_path / "attention.png"
    attention_map.plot(source_tokens, output_tokens, weights, path, translation)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _shipped(name):
    path = ROOT / "saved_models" / name
    if not (path / "model_card.json").is_file():
        pytest.skip(f"saved_models/{name} is not there")
    return path


def test_shipped_dates_model_gets_unseen_dates_right():
    path = _shipped("translation-dates")
    card = json.loads((path / "model_card.json").read_text())
    assert card["test_metrics"]["exact_match_beam4"] >= 0.995
    predictor = zoo.load("translation-dates")
    sources_, targets = dates.generate(300, seed=12345)
    translations = [row["translation"] for row in predictor.predict(sources_)]
    assert np.mean([t == r for t, r in zip(translations, targets)]) >= 0.99
    assert predictor.predict("3rd of March 2021")["translation"] == "2021-03-03"
    assert [row["translation"] for row in predictor.predict(BAD_INPUTS[:2])] == ["", ""]
    # The score beam search reports is the model's probability of its output, normalized.
    model = keras.saving.load_model(path / "model.keras")
    sentences = tf.constant(sources_[:20])
    result = model.translate(sentences, 3, 0.7)
    scores = model.sequence_scores(sentences, result["translation"], alpha=0.7)
    np.testing.assert_allclose(scores.numpy(), result["score"].numpy(), rtol=1e-4, atol=1e-6)


def test_shipped_spanish_model_translates_and_matches_its_keras_model():
    path = _shipped("translation-spa-en")
    predictor = zoo.load(path)
    model = keras.saving.load_model(path / "model.keras")
    sentences = ["Tom no sabe nadar.", "Me gusta mucho leer libros.", "", "日本語"]
    rows = predictor.predict(sentences, endpoint="translate", beam_width=4, alpha=0.6)
    expected = model.translate(tf.constant(sentences), 4, 0.6)["translation"].numpy()
    assert [row["translation"] for row in rows] == [text.decode() for text in expected]
    assert "swim" in rows[0]["translation"] and "read" in rows[1]["translation"]
    assert rows[2]["translation"] == ""
