"""MaskedGlobalPooling, BigramHashing and TextToIds."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from data_pipelines.text import build_vectorizer
from zoo.layers import BigramHashing, MaskedGlobalPooling, TextToIds


def test_masked_pooling_ignores_padding_and_empty_rows():
    values = np.array([[[-1.0, 2.0], [-3.0, 4.0], [9.0, 9.0]], [[5.0, 5.0], [5.0, 5.0], [5.0, 5.0]]], "float32")
    mask = np.array([[True, True, False], [False, False, False]])
    pooled = MaskedGlobalPooling(("max", "mean"))(values, mask=mask).numpy()
    np.testing.assert_allclose(pooled[0], [-1.0, 4.0, -2.0, 3.0])
    np.testing.assert_allclose(pooled[1], [0.0, 0.0, 0.0, 0.0])


def test_masked_pooling_without_mask_uses_every_step():
    values = np.arange(12, dtype="float32").reshape(2, 3, 2)
    np.testing.assert_allclose(MaskedGlobalPooling(("mean",))(values), values.mean(1))
    np.testing.assert_allclose(MaskedGlobalPooling(("max",))(values), values.max(1))


def test_masked_pooling_shapes_and_config():
    layer = MaskedGlobalPooling(("mean", "max"), name="pool")
    assert tuple(layer(np.zeros((4, 5, 3), "float32")).shape) == (4, 6)
    assert layer.compute_output_shape((4, 5, 3)) == (4, 6)
    assert MaskedGlobalPooling.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="modes"):
        MaskedGlobalPooling(("min",))


def test_bigram_hashing():
    layer = BigramHashing(vocab_size=100, num_buckets=50)
    ids = np.array([[5, 7, 5, 7, 0, 0], [7, 5, 7, 0, 0, 0]])
    bigrams = layer(ids).numpy()
    assert bigrams.shape == ids.shape
    assert ((bigrams == 0) == (ids == 0)).all()
    assert ((bigrams[ids > 0] >= 1) & (bigrams[ids > 0] < 50)).all()
    # The same bigram gets the same id wherever it occurs; the first token pairs with padding.
    assert bigrams[0, 1] == bigrams[0, 3] == bigrams[1, 2]
    assert bigrams[0, 2] == bigrams[1, 1]
    assert BigramHashing.from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.fixture(scope="module")
def vectorizer():
    # U+0085 and U+2028 are line breaks to Python: they must not become vocabulary entries.
    return build_vectorizer(["a good film", "a bad\x85film", "good good\u2028acting\xa0\x85"], max_tokens=50)


def test_text_to_ids_truncation_and_empty_text(vectorizer):
    texts = tf.constant(["a good film good", "", "bad"])
    head = TextToIds(vectorizer, 2, "head")(texts).numpy()
    tail = TextToIds(vectorizer, 2, "tail")(texts).numpy()
    word = dict((w, i) for i, w in enumerate(vectorizer.get_vocabulary()))
    assert head.tolist() == [[word["a"], word["good"]], [0, 0], [word["bad"], 0]]
    assert tail.tolist() == [[word["film"], word["good"]], [0, 0], [word["bad"], 0]]
    assert TextToIds(vectorizer, 5)(tf.constant(["", ""])).numpy().tolist() == [[0], [0]]


def test_text_to_ids_keras_save_load(vectorizer, tmp_path):
    texts = keras.Input((), dtype="string")
    model = keras.Model(texts, TextToIds(vectorizer, 3, "tail")(texts))
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    batch = tf.constant(["good acting, a bad film!", "unknown words"])
    np.testing.assert_array_equal(restored(batch), model(batch))
