"""Text helpers, bucketing and the data source resolver."""

import numpy as np
import pytest
import tensorflow as tf

from data_pipelines import corpora, sources, text


def test_standardize_text():
    result = text.standardize_text(tf.constant(["Great<br />FILM!! Don't miss it (really); #1 ÉCOLE"]))
    assert result.numpy()[0].decode().split() == [
        "great",
        "film",
        "!",
        "!",
        "don't",
        "miss",
        "it",
        "(",
        "really",
        ")",
        ";",
        "1",
        "école",
    ]


def test_standardize_text_turns_unicode_separators_into_spaces():
    result = text.standardize_text(tf.constant(["wait\x85what\u2028now\xa0then\tend"]))
    assert result.numpy()[0].decode().split(" ") == ["wait", "what", "now", "then", "end"]


def test_truncate_keeps_head_or_tail():
    ids = tf.ragged.constant([[1, 2, 3, 4], [5], []], dtype=tf.int64)
    assert text.truncate(ids, 2, "head").to_list() == [[1, 2], [5], []]
    assert text.truncate(ids, 2, "tail").to_list() == [[3, 4], [5], []]
    with pytest.raises(ValueError, match="truncation"):
        text.truncate(ids, 2, "middle")


def _examples(lengths):
    ids = tf.ragged.constant([[7] * n for n in lengths], dtype=tf.int64)
    return ids, np.zeros(len(lengths), np.int32)


def test_bucketed_batches_element_spec_and_right_padding():
    ids, labels = _examples([3, 1, 2, 5])
    dataset = text.bucketed_batches(text.ragged_rows_dataset(ids, labels), 4, [10], [3, 1, 2, 5])
    assert dataset.element_spec == (tf.TensorSpec((None, None), tf.int64), tf.TensorSpec((None,), tf.int32))
    batch, _ = next(iter(dataset))
    assert batch.numpy().tolist()[0] == [7, 7, 7, 0, 0]


@pytest.mark.parametrize("batch_size", [1, 7, 32])
def test_bucketed_batches_declare_their_exact_length(batch_size):
    lengths = np.random.default_rng(1).integers(1, 60, size=300)
    ids, labels = _examples(lengths)
    rows = text.ragged_rows_dataset(ids, labels).shuffle(300, seed=batch_size)
    dataset = text.bucketed_batches(rows, batch_size, [10, 20, 40], lengths)
    assert int(dataset.cardinality()) == sum(1 for _ in dataset)


def test_bucketing_reduces_padding():
    lengths = np.random.default_rng(0).lognormal(5, 0.8, size=2000).astype(int) + 1
    ids, labels = _examples(lengths)
    rows = text.ragged_rows_dataset(ids, labels).shuffle(2000, seed=0)
    unbucketed = text.padding_fraction(text.bucketed_batches(rows, 32, [], lengths))
    boundaries = text.length_bucket_boundaries(lengths, 8)
    bucketed = text.padding_fraction(text.bucketed_batches(rows, 32, boundaries, lengths))
    assert len(boundaries) == 7
    assert bucketed < unbucketed / 2


def test_resolver_prefers_explicit_dir_then_environment(tmp_path, monkeypatch):
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    for directory in (explicit, env):
        (directory / "set").mkdir(parents=True)
        (directory / "set" / "a.txt").write_text("x")
    monkeypatch.setenv(sources.ENV_VAR, str(env))
    assert sources.find_local(["set/a.txt"], explicit) == [explicit / "set" / "a.txt"]
    assert sources.find_local(["set/a.txt"]) == [env / "set" / "a.txt"]
    assert sources.find_local(["set/missing.txt"], explicit) is None
    monkeypatch.delenv(sources.ENV_VAR)
    assert sources.find_local(["set/a.txt"]) is None


def test_resolver_rejects_partial_copies(tmp_path):
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "a.txt").write_text("x")
    with pytest.raises(sources.DataNotFoundError, match="missing .*b.txt"):
        sources.find_local(["set/a.txt", "set/b.txt"], tmp_path)


def test_missing_data_error_names_the_files_and_where(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(sources.DataNotFoundError) as error:
        corpora.load_imdb(tmp_path)
    message = str(error.value)
    assert "imdb/train.csv.gz" in message and str(tmp_path) in message and "no network" in message


def test_imdb_falls_back_to_tensorflow_datasets(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    with tfds.testing.mock_data(num_examples=6):
        splits = corpora.load_imdb(tmp_path)
    assert set(splits) == {"train", "test"}
    assert len(splits["train"].texts) == 6 and isinstance(splits["train"].texts[0], str)
    assert set(splits["test"].labels) <= {0, 1}


def test_map_in_length_order_batches_similar_lengths_and_restores_the_order():
    texts = ["ccc", "a", "bbbbbb", "dd", "", "eeee"]
    batches = []

    def lengths(batch):
        batches.append([len(item) for item in batch])
        return {"length": tf.strings.length(batch), "upper": tf.strings.upper(batch)}

    outputs = text.map_in_length_order(lengths, texts, batch_size=4)
    assert batches == [[0, 1, 2, 3], [4, 6]]
    assert outputs["length"].tolist() == [len(item) for item in texts]
    assert [item.decode() for item in outputs["upper"]] == [item.upper() for item in texts]

    seen = []

    def firsts(batch):
        seen.append(batch)
        return {"first": [row[0] for row in batch]}

    rows = [(5, 9), (7, 2)]
    assert text.map_in_length_order(firsts, rows, 1, length=lambda row: row[1])["first"].tolist() == [5, 7]
    assert seen == [[(7, 2)], [(5, 9)]]
