"""Character language model: the corpus split, scores as log-probabilities, the n-gram mixed in, sampling in
Keras and in the SavedModel, bad input, tiny train -> export -> load on generated names, and the shipped model."""

import json
import math
import string
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tasks.char_lm import data, taxon_names
from tasks.char_lm.config import PRESETS, CharLmConfig
from tasks.char_lm.task import score_all
from tasks.char_lm.train import train_and_evaluate
from tests import fixtures
from tests.conftest import ROOT, assert_each_weight_stored_once
from tests.killed_training import InterruptAfterEpoch, SimulatedKill
from zoo.config import from_dict
from zoo.language_model import NGRAM_MIXINGS, best_ngram_mixture
from zoo.metrics import bits_per_token

SYLLABLES = ["tyr", "an", "no", "sau", "rus", "ve", "lo", "ci", "rap", "tor", "ste", "go", "bra", "chi", "o"]


def _write_names(path, count=400, seed=0):
    rng = np.random.default_rng(seed)
    names = {"".join(rng.choice(SYLLABLES, rng.integers(2, 5))) + "saurus" for _ in range(count)}
    path.write_text("\n".join(sorted(names)) + "\n\n", encoding="utf-8")
    return sorted(names)


def _config(text_file, workdir, **overrides):
    return from_dict(
        CharLmConfig,
        {**PRESETS["tiny"], "text_file": str(text_file), "out_dir": str(workdir), "max_examples": 0, **overrides},
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("char_lm_tiny")
    names = _write_names(workdir / "names.txt")
    metrics = train_and_evaluate(_config(workdir / "names.txt", workdir, epochs=3, hidden_dim=24))
    model = keras.saving.load_model(workdir / "export" / "model.keras")
    return workdir, metrics, model, names


def test_split_is_by_block_with_no_name_in_two_splits(tmp_path):
    names = _write_names(tmp_path / "names.txt")
    (tmp_path / "names.txt").write_text("\n".join(names + names[:50]), encoding="utf-8")  # duplicates
    splits = data.make_splits(_config(tmp_path / "names.txt", tmp_path))
    train, validation, test = (set(split.texts) for split in splits)
    assert not (train & validation or train & test or validation & test)
    assert len(train) + len(validation) + len(test) == len(names)
    assert abs(len(test) - 0.1 * len(names)) <= 1


def test_stanzas_stay_whole(tmp_path):
    stanzas = [[f"line {block} {line}" for line in range(4)] for block in range(30)]
    (tmp_path / "poem.txt").write_text("\n\n".join("\n".join(stanza) for stanza in stanzas), encoding="utf-8")
    config = _config(tmp_path / "poem.txt", tmp_path)
    blocks = data.read_blocks(config)
    assert len(blocks) == 120  # a text file is one sequence per line
    config.corpus, config.text_file = "shakespeare", ""
    (tmp_path / "dinos").mkdir()
    (tmp_path / "poem.txt").rename(tmp_path / "dinos" / "shakespeare.txt")
    config.data.data_dir = str(tmp_path)
    splits = data.make_splits(config)
    for split in splits:
        assert len(split.texts) % 4 == 0
        for start in range(0, len(split.texts), 4):
            assert len({line.split()[1] for line in split.texts[start : start + 4]}) == 1


def test_names_corpus_needs_no_data_directory(tmp_path):
    config = from_dict(CharLmConfig, {"corpus": "names", "data_dir": str(tmp_path / "empty"), "max_examples": 0})
    splits = data.make_splits(config)
    train, validation, test = (set(split.texts) for split in splits)
    assert len(train) + len(validation) + len(test) > 8000
    assert not (train & validation or train & test or validation & test)
    assert {"emma", "oliver"} <= train | validation | test
    assert splits == data.make_splits(config)  # the same split every time


def test_too_small_or_missing_corpus_is_a_clear_error(tmp_path):
    (tmp_path / "few.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="at least 10"):
        data.make_splits(_config(tmp_path / "few.txt", tmp_path))
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        data.make_splits(_config(tmp_path / "missing.txt", tmp_path))


def test_latin_lemmas_lose_vowel_quantities_and_homonym_numbers(tmp_path, monkeypatch):
    lemmas = tmp_path / "lemmes.la"
    lemmas.write_text(
        "! collatinus' format: lemma[=variant]|model|...\n"
        "ăbăcus|lupus|||i, m.|7\n"
        "Ăbantĭădēs=Ăbāntĭădēs|cometes|||ae, m. npr.|3\n"
        "Ănās2|aeneas|||ae, f.|1\n"
        "ădўtum=ădўtŭm|templum|||i, n.|16\n\n",
        encoding="utf-8",
    )
    # Its y with a breve is a Cyrillic letter, which folds to a Cyrillic y.
    assert data.latin_lemmas([lemmas]) == {"abacus", "Abantiades", "Anas", "ad\u0443tum"}
    with pytest.raises(FileNotFoundError, match="apt-get install collatinus"):
        data.latin_lemmas([tmp_path / "missing.la"])
    # As a pretraining corpus: lower-cased, in the vocabulary's characters (so without the Cyrillic word).
    monkeypatch.setattr(data, "LATIN_LEMMA_FILES", [lemmas])
    _write_names(tmp_path / "names.txt")
    config = _config(tmp_path / "names.txt", tmp_path, pretrain_corpus="latin")
    splits = data.make_splits(config)
    assert data.pretraining_lines(config, splits, string.ascii_lowercase).texts == ["abacus", "abantiades", "anas"]


def test_pretraining_reads_imdb_words_or_clauses_in_the_corpus_characters_and_no_held_out_text(tmp_path):
    names = _write_names(tmp_path / "names.txt")
    config = _config(tmp_path / "names.txt", tmp_path, data_dir=str(tmp_path), pretrain_corpus="imdb")
    splits = data.make_splits(config)
    vocabulary = data.build_vocabulary(splits.train.texts)
    held_out = splits.test.texts[0]
    reviews = [
        f"The {held_out}es of this film!<br />Its stego and raptor scenes, sadly, bore.",
        "Velociraptors rule us; a tyrannosaurus roars, 10/10.",
    ]
    fixtures.write_reviews(tmp_path, reviews[:1], reviews[1:])
    # No space in the corpus: words, lower-cased, in its characters, never one holding a held-out name.
    words = data.pretraining_lines(config, splits, vocabulary).texts
    expected = {"the", "this", "its", "stego", "raptor", "scenes", "bore", "velociraptors", "rule", "tyrannosaurus"}
    assert set(words) == expected | {"roars"} - set(splits.validation.texts + splits.test.texts)
    assert not any(held_out in word for word in words) and len(names) > len(splits.train.texts)
    # A word list too: its lines, lower-cased, with the same rules.
    (tmp_path / "words.txt").write_text(f"Brachiosaurus\n\n{held_out}\ndiplodocus\nstego\n", encoding="utf-8")
    config.pretrain_file = str(tmp_path / "words.txt")
    assert set(data.pretraining_lines(config, splits, vocabulary).texts) == set(words) | {"brachiosaurus"}
    config.pretrain_corpus = ""
    assert data.pretraining_lines(config, splits, vocabulary).texts == ["brachiosaurus", "stego"]
    # Several files, separated by commas, read together.
    (tmp_path / "genera.txt").write_text("Stego\nAllosaurus\n", encoding="utf-8")
    config.pretrain_file = f"{tmp_path / 'words.txt'}, {tmp_path / 'genera.txt'}"
    assert data.pretraining_lines(config, splits, vocabulary).texts == ["allosaurus", "brachiosaurus", "stego"]
    config.pretrain_file = f"{tmp_path / 'words.txt'},{tmp_path / 'missing.txt'}"
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        data.pretraining_lines(config, splits, vocabulary)
    config.pretrain_file = str(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        data.pretraining_lines(config, splits, vocabulary)
    # The outside n-gram's text is read by the same rules, every line of it, and a missing file is named too.
    config.outside_ngram_file, config.pretrain_sequences = f"{tmp_path / 'words.txt'}, {tmp_path / 'genera.txt'}", 1
    assert data.outside_ngram_lines(config, splits, vocabulary).texts == ["allosaurus", "brachiosaurus", "stego"]
    config.outside_ngram_file = str(tmp_path / "gone.txt")
    with pytest.raises(FileNotFoundError, match="outside_ngram_file .*gone.txt"):
        data.outside_ngram_lines(config, splits, vocabulary)
    config.pretrain_corpus, config.pretrain_file, config.pretrain_sequences = "imdb", "", 2
    sample = data.pretraining_lines(config, splits, vocabulary).texts
    assert len(sample) == 2 and set(sample) <= set(words)
    assert data.pretraining_lines(config, splits, vocabulary).texts == sample  # seeded

    # With a space: clauses ended by punctuation, of 20 to max_length characters, case kept when asked.
    config.lowercase, config.pretrain_sequences = False, 100
    vocabulary = sorted(set(vocabulary) | set(" ,;!Tt") | set(" ".join(reviews)) - set("0/<>"))
    clauses = data.pretraining_lines(config, splits, vocabulary).texts
    assert clauses == ["Its stego and raptor scenes,", "Velociraptors rule us;", "a tyrannosaurus roars,"]
    config.max_length = 25
    assert data.pretraining_lines(config, splits, vocabulary).texts == clauses[1:]


def test_taxon_names_are_the_one_word_latin_names_or_the_epithets_of_the_index(tmp_path):
    marisa_trie = pytest.importorskip("marisa_trie", reason="marisa-trie is not installed (pip install marisa-trie)")
    names = ["Tyrannosaurus", "Homo sapiens", "Hominidae", "Cecidomyiidae sp. BIOUG21200-C02", "Saurischia", "Mus-x"]
    names += ["Tyrannosaurus rex", "Homo sapiens neanderthalensis", "Ficus sp.", "Escherichia coli O157"]
    marisa_trie.RecordTrie("I", [(name, (taxon_id,)) for taxon_id, name in enumerate(names)]).save(
        str(tmp_path / "sn2taxid.marisa")
    )
    taxon_names.main([str(tmp_path / "out" / "names.txt"), "--index", str(tmp_path / "sn2taxid.marisa")])
    written = (tmp_path / "out" / "names.txt").read_text(encoding="utf-8")
    assert written == "Hominidae\nSaurischia\nTyrannosaurus\n"
    taxon_names.main([str(tmp_path / "epithets.txt"), "--index", str(tmp_path / "sn2taxid.marisa"), "--epithets"])
    assert (tmp_path / "epithets.txt").read_text(encoding="utf-8") == "rex\nsapiens\n"
    with pytest.raises(FileNotFoundError, match="missing.marisa"):
        taxon_names.taxon_names(tmp_path / "missing.marisa")


def test_a_run_killed_after_pretraining_resumes_without_pretraining_again(tmp_path, monkeypatch):
    _write_names(tmp_path / "names.txt")
    fixtures.write_reviews(tmp_path, ["Velociraptors roar, and a stegosaurus; tyrannosaurus rex!"], ["Brachio, too."])
    config = _config(tmp_path / "names.txt", tmp_path / "run", data_dir=str(tmp_path), pretrain_corpus="imdb")
    config.pretrain_epochs = 2
    with pytest.raises(SimulatedKill):
        train_and_evaluate(config, callbacks=[InterruptAfterEpoch(0)])
    pretraining = tmp_path / "run" / "pretraining"
    assert (pretraining / "history.csv").read_text().count("\n") == 1 + config.pretrain_epochs
    pretrained_at = (pretraining / "checkpoints" / "best.weights.h5").stat().st_mtime_ns
    config.resume = True
    # Nor does it build the pretraining batches, which only a stage with epochs left would read.
    read, batched = [], []
    pretraining_lines, make_dataset = data.pretraining_lines, data.make_dataset
    monkeypatch.setattr(data, "pretraining_lines", lambda *args: read.append(pretraining_lines(*args)) or read[-1])
    monkeypatch.setattr(
        data,
        "make_dataset",
        lambda lines, *args, **kwargs: batched.append(lines) or make_dataset(lines, *args, **kwargs),
    )
    metrics = train_and_evaluate(config)
    assert len(read) == 1 and batched and not any(lines is read[0] for lines in batched)
    assert (pretraining / "checkpoints" / "best.weights.h5").stat().st_mtime_ns == pretrained_at
    assert metrics["pretraining_epochs_run"] == config.pretrain_epochs and metrics["epochs_run"] == config.epochs


@pytest.mark.parametrize("mixing", [None, *NGRAM_MIXINGS])
def test_next_character_distribution_sums_to_one_and_steps_match_the_sequence(tiny_run, mixing):
    _, _, model, names = tiny_run
    model = model.with_ngram(None, 0.0) if mixing is None else model.with_ngram(model.ngram, 0.4, mixing)
    ids = model.char_ids(tf.constant([names[0]])).to_tensor()
    inputs = tf.concat([[[data.END_ID]], ids], axis=1)
    probabilities = tf.nn.softmax(model(inputs)).numpy()
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    assert np.all(probabilities[..., 0] == 0)  # padding is never a next character
    # The one-step recurrence (used for sampling) gives the same log-probabilities as the whole sequence.
    state, total = model.zero_state(1), 0.0
    targets = list(ids.numpy()[0]) + [data.END_ID]
    for token, target in zip(inputs.numpy()[0], targets):
        log_probs, state = model.step(tf.constant([token]), state)
        total += float(log_probs[0, target])
    score, length = model.score(tf.constant([names[0]]))
    assert float(score[0]) == pytest.approx(total, rel=1e-5) and int(length[0]) == len(names[0]) + 1


@pytest.mark.parametrize("mixing", NGRAM_MIXINGS)
def test_each_mixing_mixes_the_two_distributions_as_documented(tiny_run, mixing):
    _, _, model, names = tiny_run
    inputs = tf.concat([tf.fill([3, 1], data.END_ID), model.char_ids(tf.constant(names[:3])).to_tensor()], axis=1)
    recurrent, table = tf.nn.softmax(model.with_ngram(None, 0.0)(inputs)), model.ngram(inputs)
    mixed = tf.nn.softmax(model.with_ngram(model.ngram, 0.3, mixing)(inputs))
    if mixing == "linear":
        expected = 0.7 * recurrent + 0.3 * table
    else:
        expected = recurrent**0.7 * table**0.3
        expected /= tf.reduce_sum(expected, axis=-1, keepdims=True)
    np.testing.assert_allclose(mixed, expected, rtol=1e-5, atol=1e-7)


def test_the_ngram_is_mixed_in_as_best_on_validation(tiny_run):
    workdir, metrics, model, _ = tiny_run
    details = metrics["test_details"]
    assert model.ngram is not None and (model.ngram_mixing, model.ngram_weight) == (
        details["ngram_mixing"],
        details["ngram_weight"],
    )
    assert details["ngram_weight"] > 0
    assert metrics["validation"]["bits_per_char"] <= metrics["validation"]["recurrent_bits_per_char"]
    # The choice agrees with the exported graph's own scores of every candidate.
    splits = data.make_splits(_config(workdir / "names.txt", workdir))
    inputs, targets = data.encode(splits.validation.texts, model.vocabulary, 100)
    batches = [(inputs.to_tensor(), targets.to_tensor())]
    recurrent, weights = model.with_ngram(None, 0.0), (0.0, 0.2, 0.5, 0.8)
    chosen = best_ngram_mixture(recurrent, model.ngram, batches, weights)

    def bits(mixing, weight):
        return bits_per_token(*score_all(recurrent.with_ngram(model.ngram, weight, mixing), splits.validation.texts))

    measured = {(mixing, weight): bits(mixing, weight) for mixing in NGRAM_MIXINGS for weight in weights}
    assert chosen[2:] == (None, 0.0)  # no outside n-gram was offered
    assert measured[chosen[:2]] == pytest.approx(min(measured.values()), rel=1e-5)


@pytest.fixture(scope="module")
def outside_run(tmp_path_factory):
    """A tiny run with an outside n-gram: more names made of the same syllables, which predict the corpus."""
    workdir = tmp_path_factory.mktemp("char_lm_outside")
    names = _write_names(workdir / "names.txt")
    _write_names(workdir / "outside.txt", count=3000, seed=1)
    config = _config(
        workdir / "names.txt",
        workdir,
        epochs=1,
        hidden_dim=8,
        outside_ngram_file=str(workdir / "outside.txt"),
        outside_ngram_contexts=300,
    )
    metrics = train_and_evaluate(config)
    return workdir, config, metrics, keras.saving.load_model(workdir / "export" / "model.keras"), names


def test_an_outside_ngram_is_chosen_on_validation_and_rides_in_the_export(outside_run):
    workdir, config, metrics, model, names = outside_run
    details = metrics["test_details"]
    assert model.outside_ngram is not None and model.outside_ngram.num_contexts == 300
    assert (model.outside_ngram_weight, model.outside_ngram.order) == (
        details["outside_ngram_weight"],
        details["outside_ngram_order"],
    )
    assert details["outside_ngram_weight"] > 0 and details["ngram_weight"] + details["outside_ngram_weight"] < 1
    card = json.loads((workdir / "export" / "model_card.json").read_text())
    assert "300 most frequent contexts" in card["outside_ngram"] and card["outside_ngram_weight"] > 0
    # The choice agrees with the graph's own validation scores of its neighbours.
    splits = data.make_splits(config)
    inputs, targets = data.encode(splits.validation.texts, model.vocabulary, 100)
    recurrent = model.with_ngram(None, 0.0)
    chosen = best_ngram_mixture(
        recurrent,
        model.ngram,
        [(inputs.to_tensor(), targets.to_tensor())],
        (0.0, 0.1, 0.2, 0.4),
        outside_ngrams=[model.outside_ngram],
    )
    measured = {
        (mixing, weight, outside_weight): bits_per_token(
            *score_all(
                recurrent.with_ngram(model.ngram, weight, mixing, model.outside_ngram, outside_weight),
                splits.validation.texts,
            )
        )
        for mixing in NGRAM_MIXINGS
        for weight in (0.0, 0.1, 0.2, 0.4)
        for outside_weight in (0.0, 0.1, 0.2, 0.4)
    }
    assert measured[(chosen[0], chosen[1], chosen[3])] == pytest.approx(min(measured.values()), rel=1e-5)
    # Its text is the outside file's lines, without any that holds a held-out name.
    lines = data.outside_ngram_lines(config, splits, model.vocabulary).texts
    held_out = splits.validation.texts + splits.test.texts
    assert lines and not any(name in line for line in lines for name in held_out)
    # Plain TensorFlow scores and samples as Keras does.
    loaded = tf.saved_model.load(str(workdir / "export" / "saved_model"))
    np.testing.assert_allclose(
        loaded.score(tf.constant(names[:5]))["log_prob"], model.score(tf.constant(names[:5]))[0], rtol=1e-5
    )
    keras_samples = model.sample(8, 1.0, 3, "", 0, 1.0)["text"].numpy()
    assert keras_samples.tolist() == loaded.sample(8, 1.0, 3, "", 0, 1.0)["text"].numpy().tolist()


@pytest.mark.parametrize("mixing", NGRAM_MIXINGS)
def test_two_ngrams_mix_as_documented_and_steps_match_the_sequence(outside_run, mixing):
    *_, model, names = outside_run
    model = model.with_ngram(model.ngram, 0.3, mixing, model.outside_ngram, 0.2)
    inputs = tf.concat([tf.fill([3, 1], data.END_ID), model.char_ids(tf.constant(names[:3])).to_tensor()], axis=1)
    recurrent = tf.nn.softmax(model.with_ngram(None, 0.0)(inputs))
    corpus_ngram, outside = model.ngram(inputs), model.outside_ngram(inputs)
    mixed = tf.nn.softmax(model(inputs))
    if mixing == "linear":
        expected = 0.5 * recurrent + 0.3 * corpus_ngram + 0.2 * outside
    else:
        expected = recurrent**0.5 * corpus_ngram**0.3 * outside**0.2
        expected /= tf.reduce_sum(expected, axis=-1, keepdims=True)
    np.testing.assert_allclose(mixed, expected, rtol=1e-5, atol=1e-7)
    # The one-step recurrence (sampling's) carries both n-grams' contexts, of their own orders.
    tokens = [data.END_ID, *model.char_ids(tf.constant(names[:1])).to_tensor().numpy()[0]]
    state, total = model.zero_state(1), 0.0
    for token, target in zip(tokens, [*tokens[1:], data.END_ID]):
        log_probs, state = model.step(tf.constant([token]), state)
        total += float(log_probs[0, target])
    assert float(model.score(tf.constant(names[:1]))[0][0]) == pytest.approx(total, rel=1e-5)


def test_bad_strings_get_defined_scores(tiny_run):
    _, _, model, _ = tiny_run
    strings = ["", "   ", "ñandú ☃ 北京", "x" * 10_000, "\x00\x01", "tyrannosaurus"]
    # Traced once, as an export runs it: eagerly, 10,000 recurrent steps take minutes.
    score = tf.function(model.score, input_signature=[tf.TensorSpec([None], tf.string)])
    scores, lengths = score(tf.constant(strings))
    assert np.all(np.isfinite(scores.numpy())) and np.all(scores.numpy() < 0)
    assert lengths.numpy().tolist() == [len(s) + 1 for s in strings]
    alone = [float(score(tf.constant([s]))[0][0]) for s in strings]
    np.testing.assert_allclose(alone, scores.numpy(), rtol=1e-4)  # a row does not depend on its batch mates


def test_train_export_and_plain_saved_model_sample_and_score_like_keras(tiny_run):
    workdir, metrics, model, names = tiny_run
    assert set(metrics["test"]) == {
        "bits_per_char",
        "recurrent_bits_per_char",
        "ngram_bits_per_char",
        "ratio_to_ngram",
        "novel_share",
    }
    assert json.loads((workdir / "metrics.json").read_text()) == metrics
    loaded = tf.saved_model.load(str(workdir / "export" / "saved_model"))
    for prefix, seed in (("", 3), ("tyr", 4)):
        expected = model.sample(16, 1.0, seed, prefix)["text"].numpy()
        actual = loaded.sample(16, 1.0, seed, prefix, 0, 1.0)["text"].numpy()
        np.testing.assert_array_equal(expected, actual)
        assert all(text.decode().startswith(prefix) for text in actual)
        assert all(len(text.decode()) <= len(prefix) + 20 for text in actual)  # max_sample_length
    assert len(set(loaded.sample(16, 1.0, 5, "", 0, 1.0)["text"].numpy()) ^ set(expected)) > 0
    strings = tf.constant(names[:5] + ["qqqq", ""])
    np.testing.assert_allclose(loaded.serve(strings)["log_prob"].numpy(), model.score(strings)[0].numpy(), rtol=1e-5)
    scored = loaded.signatures["score"](strings=strings)
    np.testing.assert_array_equal(scored["log_prob"].numpy(), loaded.serve(strings)["log_prob"].numpy())
    assert_each_weight_stored_once(workdir / "export")


def test_greedy_like_sampling_and_top_k(tiny_run):
    _, _, model, _ = tiny_run
    greedy = model.sample(8, 1.0, 0, "", 1, 1.0)["text"].numpy()
    assert len(set(greedy)) == 1  # top_k 1: every sample is the most likely string
    assert len(set(model.sample(8, 1.0, 0, "", 0, 1.0)["text"].numpy())) > 1


def test_test_bits_per_char_are_measured_on_the_export(tiny_run):
    workdir, metrics, model, _ = tiny_run
    config = from_dict(CharLmConfig, json.loads((workdir / "export" / "config.json").read_text()))
    test = data.make_splits(config).test
    assert bits_per_token(*score_all(model, test.texts)) == pytest.approx(metrics["test"]["bits_per_char"], rel=1e-5)


def test_zoo_command_line_samples_and_scores(tiny_run):
    export_dir = tiny_run[0] / "export"
    sampled = subprocess.run(
        [sys.executable, "-m", "zoo", "predict", str(export_dir), "--sample", "3", "--seed", "1", "--prefix", "bra"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sampled.returncode == 0, sampled.stderr
    assert len(sampled.stdout.strip().splitlines()) == 3 and sampled.stdout.startswith("bra")
    scored = subprocess.run(
        [sys.executable, "-m", "zoo", "predict", str(export_dir), "tyrannosaurus"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert scored.returncode == 0, scored.stderr
    assert math.isfinite(json.loads(scored.stdout.split(" -> ", 1)[1])["log_prob"])


SHIPPED = ROOT / "saved_models" / "dinos"
needs_shipped = pytest.mark.skipif(not (SHIPPED / "model_card.json").is_file(), reason="saved_models/dinos not trained")


@needs_shipped
def test_shipped_model_samples_novel_names():
    metrics = zoo.load("dinos").card["test_metrics"]
    assert metrics["novel_share"] >= 0.9
    assert metrics["ratio_to_ngram"] == pytest.approx(metrics["bits_per_char"] / metrics["ngram_bits_per_char"])


@needs_shipped
def test_shipped_model_reproduces_its_test_bits_per_char(data_dir):
    from tasks.char_lm.task import CharLmTask
    from zoo.runner import evaluate_export

    if not (data_dir / "dinos" / "dinos.txt").is_file():
        pytest.skip(f"needs {data_dir}/dinos/dinos.txt")
    test = evaluate_export(CharLmTask, SHIPPED, data_dir)["test"]
    # Sums of float32 log-probabilities move in the ninth digit on another CPU (its vector instructions).
    assert test.metrics == pytest.approx(zoo.load("dinos").card["test_metrics"], rel=1e-6)
