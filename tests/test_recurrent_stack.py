import keras
import numpy as np
import pytest

from tests.layer_test_case import run_layer_test
from zoo.layers import RecurrentStack

BATCH, TIME, FEATURES, HIDDEN = 3, 7, 5, 4


def _inputs(seed=0):
    return np.random.default_rng(seed).normal(size=(BATCH, TIME, FEATURES)).astype("float32")


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_output_shape(cell, bidirectional, return_sequences):
    layer = RecurrentStack(cell, HIDDEN, num_layers=2, bidirectional=bidirectional, return_sequences=return_sequences)
    output = layer(_inputs())
    width = HIDDEN * (2 if bidirectional else 1)
    expected = (BATCH, TIME, width) if return_sequences else (BATCH, width)
    assert tuple(output.shape) == expected
    assert layer.compute_output_shape((BATCH, TIME, FEATURES)) == expected


@pytest.mark.parametrize(
    "merge_mode, width", [("concat", 2 * HIDDEN), ("sum", HIDDEN), ("mul", HIDDEN), ("ave", HIDDEN)]
)
def test_merge_modes(merge_mode, width):
    output = RecurrentStack("gru", HIDDEN, bidirectional=True, merge_mode=merge_mode)(_inputs())
    assert tuple(output.shape) == (BATCH, width)


@pytest.mark.parametrize("cell, bidirectional, count", [("lstm", True, 8), ("lstm", False, 4), ("gru", True, 4)])
def test_return_state_gives_every_layers_states(cell, bidirectional, count):
    layer = RecurrentStack(cell, HIDDEN, num_layers=2, bidirectional=bidirectional, return_state=True)
    output, *states = layer(_inputs())
    assert len(states) == count
    assert all(tuple(state.shape) == (BATCH, HIDDEN) for state in states)
    # The top layer's forward hidden state is its last output for a unidirectional stack.
    if not bidirectional:
        np.testing.assert_allclose(states[-2 if cell == "lstm" else -1], output, atol=1e-6)


def test_initial_state_is_used_and_checked():
    layer = RecurrentStack("lstm", HIDDEN, num_layers=2, return_state=True)
    inputs = _inputs()
    _, *states = layer(inputs)
    zero = [np.zeros((BATCH, HIDDEN), "float32")] * 4
    np.testing.assert_allclose(layer(inputs, initial_state=zero)[0], layer(inputs)[0], atol=1e-6)
    assert not np.allclose(layer(inputs, initial_state=[s + 1.0 for s in states])[0], layer(inputs)[0])
    with pytest.raises(ValueError, match="needs 4 tensors"):
        layer(inputs, initial_state=zero[:2])


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple"])
def test_mask_makes_padding_irrelevant(cell):
    """A right-padded sequence gives the same result as the unpadded one, in both directions."""
    layer = RecurrentStack(cell, HIDDEN, num_layers=2, bidirectional=True)
    short = _inputs()[:, :4]
    padded = np.concatenate([short, np.random.default_rng(1).normal(size=(BATCH, 3, FEATURES))], 1).astype("float32")
    mask = np.array([[True] * 4 + [False] * 3] * BATCH)
    np.testing.assert_allclose(layer(padded, mask=mask), layer(short), atol=1e-5)
    assert not np.allclose(layer(padded), layer(short), atol=1e-5)


def test_mask_propagates_only_with_sequences():
    embedded = keras.layers.Embedding(10, FEATURES, mask_zero=True)(keras.Input((None,), dtype="int32"))
    assert RecurrentStack("gru", HIDDEN, return_sequences=True)(embedded)._keras_mask is not None
    assert getattr(RecurrentStack("gru", HIDDEN)(embedded), "_keras_mask", None) is None


def test_dropout_only_in_training():
    layer = RecurrentStack("gru", HIDDEN, num_layers=2, dropout=0.5)
    inputs = _inputs()
    np.testing.assert_allclose(layer(inputs, training=False), layer(inputs, training=False))
    assert not np.allclose(layer(inputs, training=True), layer(inputs, training=False))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "rnn"}, "cell"),
        ({"merge_mode": "max"}, "merge_mode"),
        ({"num_layers": 0}, "num_layers"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RecurrentStack(**kwargs)


def test_config_round_trip():
    layer = RecurrentStack(
        "gru",
        6,
        num_layers=3,
        bidirectional=True,
        merge_mode="sum",
        dropout=0.2,
        return_sequences=True,
        return_state=True,
        name="stack",
    )
    clone = RecurrentStack.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_keras_save_load(tmp_path):
    inputs = keras.Input((None, FEATURES))
    outputs = RecurrentStack("lstm", HIDDEN, num_layers=2, bidirectional=True, dropout=0.1)(inputs)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(restored(_inputs()), model(_inputs()), atol=1e-6)


@pytest.mark.parametrize("cell, weights", [("lstm", 12), ("gru", 12), ("simple", 12)])
def test_passes_the_layer_checks(cell, weights, tmp_path):
    mask = np.arange(TIME)[None] < np.array([[TIME], [3], [1]])
    run_layer_test(
        RecurrentStack,
        {
            "cell": cell,
            "hidden_dim": HIDDEN,
            "num_layers": 2,
            "bidirectional": True,
            "dropout": 0.1,
            "return_sequences": True,
        },
        (_inputs(),),
        (BATCH, TIME, 2 * HIDDEN),
        keyword_inputs={"mask": mask},
        expected_num_trainable_weights=weights,
        saved_model_dir=tmp_path,
    )
