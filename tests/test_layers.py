"""MaskedGlobalPooling, BigramHashing, TextToIds, TimeReduction, LogMelSpectrogram, SpectrogramAugment,
SpeechEmbedding and NGramTable."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from data_pipelines.text import build_vectorizer
from tests.layer_test_case import run_layer_test
from zoo.layers import (
    BigramHashing,
    LogMelSpectrogram,
    MaskedGlobalPooling,
    NGramTable,
    RecurrentStack,
    SpectrogramAugment,
    SpeechEmbedding,
    TextToIds,
    TimeReduction,
)


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


def test_time_reduction_stacks_steps_and_pads_time():
    values = np.arange(2 * 5 * 3, dtype="float32").reshape(2, 5, 3)
    reduced = TimeReduction(2)(values).numpy()
    assert reduced.shape == (2, 3, 6)
    np.testing.assert_array_equal(reduced[0, 0], values[0, :2].reshape(-1))
    np.testing.assert_array_equal(reduced[1, 2], np.concatenate([values[1, 4], np.zeros(3)]))
    np.testing.assert_array_equal(TimeReduction(1)(values), values)
    assert TimeReduction(3).compute_output_shape((2, 7, 3)) == (2, 3, 9)
    assert TimeReduction(3).compute_output_shape((None, None, 3)) == (None, None, 9)
    with pytest.raises(ValueError, match="factor"):
        TimeReduction(0)


def test_time_reduction_mask_keeps_any_real_step_and_zeroes_padding():
    values = np.ones((2, 5, 1), "float32")
    mask = np.array([[True, True, True, False, False], [False, False, True, True, True]])
    layer = TimeReduction(2)
    assert layer.compute_mask(values, mask).numpy().tolist() == [[True, True, False], [False, True, True]]
    assert layer(values, mask=mask).numpy()[0, 1, :].tolist() == [1.0, 0.0]
    assert TimeReduction(3).compute_mask(values, mask).numpy().tolist() == [[True, False], [True, True]]


def test_time_reduction_output_does_not_depend_on_padding_length(tmp_path):
    token_ids = keras.Input((None,), dtype="int64")
    embedded = keras.layers.Embedding(10, 4, mask_zero=True)(token_ids)
    reduced = TimeReduction(3, name="reduce")(embedded)
    model = keras.Model(token_ids, MaskedGlobalPooling()(RecurrentStack("gru", 5, return_sequences=True)(reduced)))
    short, long = np.array([[1, 2, 3, 4, 0]]), np.array([[1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0]])
    np.testing.assert_allclose(model(short), model(long), atol=1e-6)

    layer = model.get_layer("reduce")
    assert TimeReduction.from_config(layer.get_config()).get_config() == layer.get_config()
    model.save(tmp_path / "model.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "model.keras")(long), model(long), atol=1e-6)


def test_masked_pooling_passes_the_layer_checks(tmp_path):
    values = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    run_layer_test(
        MaskedGlobalPooling,
        {"modes": ("max", "mean")},
        (values,),
        (2, 6),
        keyword_inputs={"mask": mask},
        saved_model_dir=tmp_path,
    )


def test_bigram_hashing_passes_the_layer_checks(tmp_path):
    ids = np.array([[5, 7, 5, 7, 0, 0], [7, 5, 7, 0, 0, 0]], "int64")
    run_layer_test(
        BigramHashing,
        {"vocab_size": 100, "num_buckets": 50},
        (ids,),
        (2, 6),
        run_training_check=False,
        saved_model_dir=tmp_path,
    )


def test_text_to_ids_passes_the_layer_checks(vectorizer, tmp_path):
    texts = np.array(["a good film good", "", "bad"])
    run_layer_test(
        TextToIds,
        {"vectorizer": vectorizer, "max_length": 3, "truncation": "tail"},
        (texts,),
        (3, 3),
        run_training_check=False,
        saved_model_dir=tmp_path,
    )


def test_time_reduction_passes_the_layer_checks(tmp_path):
    values = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    run_layer_test(
        TimeReduction, {"factor": 2}, (values,), (2, 3, 6), keyword_inputs={"mask": mask}, saved_model_dir=tmp_path
    )


def test_log_mel_spectrogram_passes_the_layer_checks(tmp_path):
    samples = np.random.default_rng(0).normal(size=(2, 1600)).astype("float32")
    run_layer_test(
        LogMelSpectrogram,
        {"num_mel_bins": 20},
        (samples,),
        (2, 8, 20),
        run_training_check=False,  # no weights
        run_mixed_precision_check=False,  # computes in float32 under any policy: float16 power underflows
        saved_model_dir=tmp_path,
    )


def test_spectrogram_augment_warps_and_masks_only_while_training():
    # Each bin holds its own index, the same in every frame: what a bin reads is visible directly.
    frames = np.broadcast_to(np.arange(40, dtype="float32"), (4, 7, 40)).copy()
    np.testing.assert_array_equal(SpectrogramAugment(seed=0)(frames), frames)
    warped = SpectrogramAugment(mel_warp=0.2, frequency_masks=0, seed=0)(frames, training=True).numpy()
    stretch = warped[:, 0, 1:] / np.arange(1, 40)  # the bins inside the range read index * stretch
    for row in range(4):
        inside = np.arange(1, 40) * stretch[row, 0] <= 39
        np.testing.assert_allclose(stretch[row, inside], stretch[row, 0], rtol=1e-5)
        assert 0.8 <= stretch[row, 0] <= 1.2
    np.testing.assert_array_equal(warped, warped[:, :1].repeat(7, axis=1))  # every frame alike
    masked = SpectrogramAugment(mel_warp=0.0, frequency_masks=1, frequency_mask_bins=5, seed=0)(
        frames, training=True
    ).numpy()
    for row in range(4):
        changed = np.flatnonzero(masked[row, 0] != frames[row, 0])
        assert len(changed) <= 5 and (len(changed) == 0 or np.ptp(changed) == len(changed) - 1)
        np.testing.assert_allclose(masked[row, 0, changed], frames[row].mean(), rtol=1e-6)
    with pytest.raises(ValueError, match="mel_warp"):
        SpectrogramAugment(mel_warp=1.0)


def test_spectrogram_augment_passes_the_layer_checks(tmp_path):
    frames = np.random.default_rng(0).normal(size=(2, 6, 20)).astype("float32")
    run_layer_test(
        SpectrogramAugment,
        {"mel_warp": 0.1, "frequency_masks": 2, "frequency_mask_bins": 4, "seed": 3},
        (frames,),
        (2, 6, 20),
        run_training_check=False,  # no weights
        saved_model_dir=tmp_path,
    )


def test_speech_embedding_passes_the_layer_checks(tmp_path):
    frames = np.random.default_rng(0).normal(size=(2, 84, 32)).astype("float32")
    run_layer_test(
        SpeechEmbedding,
        {"stride_frames": 4},
        (frames,),
        (2, 3, 96),  # windows end at frames 75, 79 and 83
        expected_num_non_trainable_weights=42,  # 20 kernels, 18 biases, the first block's batch norm
        run_training_check=False,  # frozen
        saved_model_dir=tmp_path,
    )


@pytest.mark.parametrize("stride_frames", [3, 8, 12])
def test_speech_embedding_over_a_sequence_equals_it_window_by_window(stride_frames):
    """The layer runs the network over whole sequences (one run per phase of the windows' starts modulo the
    network's 8x pooling in time); each window alone must give the same embedding, at every length, short
    ones included."""
    layer = SpeechEmbedding(stride_frames=stride_frames)
    layer.set_weights([np.random.default_rng(1).normal(size=w.shape) * 0.3 for w in layer.get_weights()])
    rng = np.random.default_rng(0)
    for num_frames in (40, 76, 83, 84, 131):
        frames = rng.normal(size=(2, num_frames, 32)).astype("float32") - 8
        windows = tf.signal.frame(SpeechEmbedding.network_inputs(frames), 76, stride_frames, axis=1).numpy()
        expected = np.stack([layer.embed_windows(row).numpy() if len(row) else np.zeros((0, 96)) for row in windows])
        embeddings = layer(frames).numpy()
        assert embeddings.shape == (2, len(windows[0]), 96)
        np.testing.assert_allclose(embeddings, expected, atol=1e-4, rtol=1e-4)


def test_speech_embedding_is_the_network_openwakeword_ships():
    """Google's network as openwakeword 0.4.0 ships it (ONNX, run by onnxruntime) against the layer with its
    weights, on windows and on audio through the features each computes."""
    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime runs the reference network")
    pytest.importorskip("openwakeword", reason="the openwakeword 0.4.0 package holds the weights")
    pytest.importorskip("onnx", reason="onnx reads the weights")
    import importlib.resources

    models = importlib.resources.files("openwakeword") / "resources" / "models"
    network = onnxruntime.InferenceSession(str(models / "embedding_model.onnx"))
    features = onnxruntime.InferenceSession(str(models / "melspectrogram.onnx"))
    layer = SpeechEmbedding(stride_frames=8)
    layer.load_pretrained()
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(3, 76, 32)).astype("float32") * 2
    reference = network.run(None, {"input_1": windows[..., None]})[0].reshape(3, 96)
    np.testing.assert_allclose(layer.embed_windows(windows).numpy(), reference, atol=1e-3)

    # Noise and a tone: no frame is 80 dB below the loudest, where openwakeword's features clip relatively.
    time = np.arange(16000) / 16000
    samples = (0.05 * rng.standard_normal(16000) + 0.3 * np.sin(2 * np.pi * 440 * time)).astype("float32")
    ours = layer(SpeechEmbedding.log_mel_spectrogram()(samples[None])).numpy()[0]
    # openwakeword's frames are 512 samples with the 400-sample window in their middle: 56 samples later.
    decibels = features.run(None, {"input": np.pad(samples * 32768, (56, 0))[None]})[0][:, 0, :, :].reshape(-1, 32)
    windows = tf.signal.frame(decibels / 10 + 2, 76, 8, axis=0).numpy()
    reference = network.run(None, {"input_1": windows[..., None]})[0].reshape(-1, 96)
    assert ours.shape == reference.shape == (3, 96)
    np.testing.assert_allclose(ours, reference, atol=1e-2, rtol=1e-3)
    with pytest.raises(ValueError, match="stride_frames"):
        SpeechEmbedding(stride_frames=0)


def test_ngram_table_passes_the_layer_checks(tmp_path):
    ids = np.random.default_rng(0).integers(0, 6, size=(2, 5))
    run_layer_test(
        NGramTable,
        {"order": 3, "vocab_size": 6, "num_contexts": 4, "start_id": 2},
        (ids,),
        (2, 5, 6),
        expected_num_non_trainable_weights=2,
        run_training_check=False,  # a fixed table
        run_mixed_precision_check=False,  # int64 keys, and probabilities kept in float32
        saved_model_dir=tmp_path,
    )
    with pytest.raises(ValueError, match="overflow"):
        NGramTable(order=12, vocab_size=100, num_contexts=1, start_id=0)
