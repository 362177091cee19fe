"""NER task: data, tiny train -> export -> plain SavedModel, bad input, the shipped model."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from data_pipelines import sources, tagging, text, words
from tasks.ner import data, raw_text
from tasks.ner import word_vectors as ner_vectors
from tasks.ner.config import PRESETS, NerConfig
from tasks.ner.model import average_taggers, build_tagger, extend_vocabulary
from tasks.ner.train import train_and_evaluate
from tests import fixtures
from tests.conftest import ROOT, assert_each_weight_stored_once
from zoo.config import from_dict
from zoo.layers import CRF
from zoo.word_vectors import WordVectors

BAD_INPUTS = [
    "",
    " .,;:!? ... ",
    " ".join(["Paris"] * 250 + ["Smith"] * 250),  # 500 tokens, far longer than any training sentence
    "Xqzvw Blorfington flibbered the zorgs",
    "Владимир Путин посетил Пекин в понедельник.",
    "北京是中国的首都。",
]


@pytest.fixture(scope="session")
def conll_dir(data_dir):
    if not (data_dir / "conll2003" / "train.txt").is_file():
        pytest.skip(f"needs {data_dir}/conll2003/{{train,valid,test}}.txt")
    return data_dir


def _tiny(data_dir, workdir, **overrides):
    return from_dict(NerConfig, {**PRESETS["tiny"], "data_dir": str(data_dir), "out_dir": str(workdir), **overrides})


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory):
    """Generated sentences in CoNLL-2003's format, and the reviews and Anki pairs the word vectors read: the
    tiny runs need no data directory."""
    root = fixtures.write_conll(tmp_path_factory.mktemp("conll_fixture"))
    fixtures.write_imdb(root, train_size=40, test_size=20)
    return fixtures.write_anki(root)


@pytest.fixture(scope="module")
def tiny_run(generated_dir, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ner_tiny")
    vectors = workdir / "word_vectors.npz"
    embedding_dim = PRESETS["tiny"]["embedding_dim"]
    ner_vectors.main(
        ["--data-dir", str(generated_dir), "--out", str(vectors), "--dim", str(embedding_dim), "--epochs", "1"]
    )
    # With lexicon features and word vectors, some of whose words join the vocabulary: the export tests below
    # then check them inside the SavedModel as well.
    config = _tiny(generated_dir, workdir, lexicons=True, word_vectors=str(vectors), max_vector_words=50)
    return workdir, train_and_evaluate(config)


def test_real_splits_have_the_official_sizes(conll_dir):
    splits = data.make_splits(from_dict(NerConfig, {"data_dir": str(conll_dir)}))
    assert splits.sizes() == {"train": 14041, "validation": 3250, "test": 3453}
    assert sum(len(tagging.spans(tags)) for tags in splits.test.tags) == 5648


def test_dataset_element_spec_and_padding(generated_dir):
    config = _tiny(generated_dir, "unused")
    splits = data.make_splits(config)
    dataset = data.make_dataset(splits.train, config, data.length_boundaries(splits.train, config), True)
    assert dataset.element_spec == (tf.TensorSpec([None, None], tf.string), tf.TensorSpec([None, None], tf.int32))
    for tokens, tag_ids in dataset.take(3):
        np.testing.assert_array_equal(tokens.numpy() == b"", tag_ids.numpy() == text.PAD_LABEL)


def test_conll2003_falls_back_to_tensorflow_datasets(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    with tfds.testing.mock_data(num_examples=4):
        splits = data.load_conll(tmp_path)
    assert splits.sizes() == {"train": 4, "validation": 4, "test": 4}
    # Mock examples draw each feature's length independently, so only the types are checked.
    assert all(isinstance(token, str) for tokens in splits.train.tokens for token in tokens)
    assert {tagging.split_tag(tag)[1] for tags in splits.train.tags for tag in tags} <= {None, *data.ENTITY_TYPES}


def test_missing_conll_names_the_files(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(sources.DataNotFoundError, match="conll2003/train.txt"):
        data.load_conll(tmp_path)


@pytest.mark.parametrize(
    "overrides", [{}, {"output_layer": "softmax", "char_encoder": "lstm"}, {"char_encoder": "none"}]
)
def test_tagger_ignores_padding(overrides):
    config = from_dict(NerConfig, {**PRESETS["tiny"], **overrides})
    _, tagger = build_tagger(config, ["the", "eu"], len(data.tag_names(config)))
    tokens = tf.constant([["The", "EU", "rejects"]])
    padded = tf.constant([["The", "EU", "rejects", "", ""]])
    np.testing.assert_array_equal(tagger(padded).numpy()[:, :3], tagger(tokens))


def test_word_embeddings_start_from_the_vectors_of_their_words():
    config = from_dict(NerConfig, {**PRESETS["tiny"], "embedding_dim": 3})
    vectors = WordVectors(
        ["eu", "rejects", "german"], np.array([9, 5, 2]), np.arange(9, dtype=np.float32).reshape(3, 3)
    )
    vocabulary = extend_vocabulary(["the", "eu"], vectors, max_added=1)
    assert vocabulary == ["the", "eu", "rejects"]
    trainer, _ = build_tagger(config, vocabulary, len(data.tag_names(config)), vectors)
    table = trainer.get_layer("words").embeddings.numpy()
    # Ids: 0 padding, 1 unknown, then the vocabulary; "the" has no vector and keeps its random start.
    np.testing.assert_array_equal(table[3:5], vectors.vectors[:2])
    assert not np.isin(table[2], vectors.vectors).all()


def test_average_of_taggers_decodes_their_mean_potentials():
    taggers = []
    for seed, vocabulary in ((0, ["the", "eu"]), (1, ["eu", "rejects"])):
        config = from_dict(NerConfig, {**PRESETS["tiny"], "seed": seed})
        keras.utils.set_random_seed(seed)
        _, tagger = build_tagger(config, vocabulary, len(data.tag_names(config)))
        crf = tagger.get_layer("crf")
        crf.set_weights([np.random.default_rng(seed).normal(size=w.shape) for w in crf.get_weights()])
        taggers.append(tagger)
    tokens = tf.constant([["The", "EU", "rejects", "", ""], ["German", "beef", "", "", ""]])
    ensemble = average_taggers(taggers)
    scores = [keras.Model(t.inputs, t.get_layer("tag_scores").output)(tokens) for t in taggers]
    mean_crf = CRF(len(data.tag_names(NerConfig())))
    mean_crf.build(scores[0].shape)
    mean_crf.set_weights([(a + b) / 2 for a, b in zip(*(t.get_layer("crf").get_weights() for t in taggers))])
    expected = mean_crf((scores[0] + scores[1]) / 2, mask=tokens != "")
    np.testing.assert_array_equal(ensemble(tokens), expected)
    np.testing.assert_array_equal(average_taggers(taggers[:1])(tokens), taggers[0](tokens))


def test_word_vectors_of_another_size_are_an_error():
    config = from_dict(NerConfig, {**PRESETS["tiny"], "embedding_dim": 4})
    vectors = WordVectors(["eu"], np.array([9]), np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match="embedding_dim is 4 but the word vectors have 3"):
        build_tagger(config, ["eu"], len(data.tag_names(config)), vectors)


def test_config_rejects_unknown_choices():
    with pytest.raises(ValueError, match="output_layer"):
        NerConfig(output_layer="hmm")
    with pytest.raises(ValueError, match="tag_scheme"):
        NerConfig(tag_scheme="iob1")


def test_train_and_evaluate_writes_metrics_and_export(tiny_run):
    workdir, metrics = tiny_run
    assert json.loads((workdir / "metrics.json").read_text()) == metrics
    assert metrics["epochs_run"] == 2 and metrics["split_sizes"]["test"] == 120
    assert 0.0 <= metrics["test"]["f1"] <= 1.0
    card = json.loads((workdir / "export" / "model_card.json").read_text())
    assert card["task"] == "ner" and card["test_metrics"] == metrics["test"]
    assert set(card["test_per_type"]) == {"micro", *data.ENTITY_TYPES}
    # The reviews' words ("film", "plot", ...) are not in CoNLL's train split: they join the vocabulary.
    assert card["word_vectors"]["words_added_to_the_train_vocabulary"] > 0
    assert card["word_vectors"]["corpus"]["imdb"]["sequences"] == 60


def test_export_is_scored_again_without_the_word_vectors_it_started_from(tiny_run, generated_dir):
    from tasks.ner.task import NerTask
    from zoo.runner import evaluate_export

    workdir, metrics = tiny_run
    vectors = workdir / "word_vectors.npz"
    vectors.rename(workdir / "moved.npz")
    try:
        test = evaluate_export(NerTask, workdir / "export", generated_dir)["test"]
    finally:
        (workdir / "moved.npz").rename(vectors)
    assert test.metrics == pytest.approx(metrics["test"], abs=1e-9)


def test_gold_entities_are_character_offsets_into_the_joined_tokens():
    tokens = ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]
    tags = ["S-ORG", "O", "S-MISC", "O", "O", "O", "B-MISC", "E-MISC", "O"]
    sentence, entities = raw_text.gold_entities(tokens, tags)
    assert sentence == "EU rejects German call to boycott British lamb ."
    assert {(entity_type, sentence[start:end]) for entity_type, start, end in entities} == {
        ("ORG", "EU"),
        ("MISC", "German"),
        ("MISC", "British lamb"),
    }


def test_raw_text_scores_of_the_export_equal_its_gold_token_scores(tiny_run, generated_dir):
    # The generated sentences are tokenized as the export tokenizes raw text, so the two ways agree.
    workdir, metrics = tiny_run
    test = data.make_splits(_tiny(generated_dir, workdir)).test
    scores = raw_text.scores(workdir / "export", test)["micro"]
    assert {name: scores[name] for name in metrics["test"]} == pytest.approx(metrics["test"], abs=1e-9)


def test_saved_model_stores_each_weight_once(tiny_run):
    assert_each_weight_stored_once(tiny_run[0] / "export")


def _keras_tags(tagger, tags, sentences):
    tokens, _, _ = words.split_words(tf.constant(sentences))
    tag_ids = tagger(text.to_padded(tokens, "")).numpy()
    return [
        tagging.to_iob2([tags[i] for i in tag_ids[row, :length]])
        for row, length in enumerate(tokens.row_lengths().numpy())
    ]


def test_saved_model_matches_keras_tagger(tiny_run):
    export_dir = tiny_run[0] / "export"
    sentences = [
        "EU rejects German call to boycott British lamb.",
        "Peter Blackburn",
        "BRUSSELS 1996-08-22",
    ] + BAD_INPUTS
    loaded = tf.saved_model.load(str(export_dir / "saved_model"))
    served = loaded.serve(tf.constant(sentences))
    tagger = keras.saving.load_model(export_dir / "model.keras")
    tags = json.loads((export_dir / "model_card.json").read_text())["tags"]
    lengths = served["num_tokens"].numpy()
    served_tags = [[t.decode() for t in row[:n]] for row, n in zip(served["tags"].numpy(), lengths)]
    assert served_tags == _keras_tags(tagger, tags, sentences)


def test_entities_are_the_spans_of_the_tags_with_offsets_into_the_input(tiny_run):
    predictor = zoo.load(tiny_run[0] / "export")
    sentences = [
        "EU rejects German call to boycott British lamb.",
        "Peter Blackburn of BRUSSELS , Belgium",
    ] + BAD_INPUTS
    for sentence, row in zip(sentences, predictor.predict(sentences)):
        assert len(row["tokens"]) == len(row["tags"]) == row["num_tokens"]
        assert [entity_type for entity_type, _, _ in tagging.spans(row["tags"])] == row["entity_type"]
        assert [sentence[s:e] for s, e in zip(row["entity_start"], row["entity_end"])] == row["entity_text"]


def test_bad_input_gives_defined_output_alone_and_in_a_batch(tiny_run):
    predictor = zoo.load(tiny_run[0] / "export")
    batch = predictor.predict(BAD_INPUTS)
    for sentence, row in zip(BAD_INPUTS, batch):
        assert predictor.predict(sentence) == row
        assert all(tag == "O" or tag[:2] in ("B-", "I-") for tag in row["tags"])
    assert batch[0]["num_tokens"] == 0 and batch[0]["entity_text"] == []
    assert batch[2]["num_tokens"] == 500
    assert predictor.predict([]) == []


SHIPPED = ROOT / "saved_models" / "ner"
needs_shipped = pytest.mark.skipif(not (SHIPPED / "model_card.json").is_file(), reason="saved_models/ner not trained")


@needs_shipped
def test_shipped_model_finds_clear_cut_entities():
    rows = zoo.load("ner").predict(
        ["Angela Merkel met Emmanuel Macron in Paris on Monday.", "Microsoft said its profit rose in Germany."]
    )
    found = [sorted(zip(row["entity_text"], row["entity_type"])) for row in rows]
    assert found[0] == [("Angela Merkel", "PER"), ("Emmanuel Macron", "PER"), ("Paris", "LOC")]
    assert found[1] == [("Germany", "LOC"), ("Microsoft", "ORG")]


@needs_shipped
def test_shipped_model_reproduces_its_test_f1(conll_dir):
    from tasks.ner.task import NerTask
    from zoo.runner import evaluate_export

    test = evaluate_export(NerTask, SHIPPED, conll_dir)["test"]
    assert test.details["entities"] == 5648
    assert test.metrics == pytest.approx(zoo.load("ner").card["test_metrics"], abs=1e-9)


@needs_shipped
def test_shipped_model_reproduces_its_test_f1_on_raw_text(conll_dir):
    scores = raw_text.scores(SHIPPED, data.load_conll(conll_dir).test)["micro"]
    recorded = zoo.load("ner").card["test_metrics_raw_text"]
    assert {name: scores[name] for name in recorded} == pytest.approx(recorded, abs=1e-9)


@needs_shipped
def test_shipped_model_handles_bad_input():
    rows = zoo.load("ner").predict(BAD_INPUTS)
    assert [row["num_tokens"] for row in rows][:3] == [0, 7, 500]
    assert rows[3]["num_tokens"] == 5 and rows[5]["num_tokens"] >= 1


@needs_shipped
def test_zoo_command_line_prints_the_entities():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    sentence = "Yesterday, Harry Potter met Hermione Granger in London."
    result = subprocess.run(
        [sys.executable, "-m", "zoo", "predict", "ner", sentence],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert '"entity_text": ["Harry Potter", "Hermione Granger", "London"]' in result.stdout
