"""`run_layer_test`: the checks every layer of `zoo.layers` passes, in one place.

For a layer class, its constructor arguments and example inputs it checks: the config round trip
(`get_config` / `from_config` and Keras serialization), the weight counts, an eager and a symbolic call
with the expected output shapes, one training step that moves every trainable weight, mixed precision
(`mixed_float16` and `mixed_bfloat16`: variables stay float32, every sub-layer follows the policy,
outputs stay finite), and the `.keras` and SavedModel round trips giving the same outputs.
"""

import copy

import keras
import numpy as np
import tensorflow as tf

MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


def _flat(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _shapes(outputs):
    return [tuple(output.shape) for output in _flat(outputs)]


def _dtype(array):
    array = np.asarray(array)
    return "string" if array.dtype.kind in "USO" else array.dtype.name


def _symbolic_inputs(arrays, names):
    return [keras.Input(np.shape(array)[1:], dtype=_dtype(array), name=name) for array, name in zip(arrays, names)]


def _as_tensor(array):
    return tf.constant(np.asarray(array))


class _LayerModel:
    """A functional model around one layer, its positional and keyword tensor inputs all model inputs."""

    def __init__(self, layer, inputs, keyword_inputs):
        self.positional_names = [f"input_{index}" for index in range(len(inputs))]
        self.keyword_names = list(keyword_inputs)
        symbolic = _symbolic_inputs(
            list(inputs) + list(keyword_inputs.values()), self.positional_names + self.keyword_names
        )
        positional, keyword = symbolic[: len(inputs)], dict(zip(self.keyword_names, symbolic[len(inputs) :]))
        outputs = layer(*positional, **keyword)
        self.model = keras.Model(symbolic, _flat(outputs))
        self.arrays = [_as_tensor(array) for array in list(inputs) + list(keyword_inputs.values())]


def _assert_same_outputs(actual, expected, atol):
    for got, want in zip(_flat(actual), _flat(expected)):
        got, want = np.asarray(got), np.asarray(want)
        if want.dtype.kind in "fc":
            np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5)
        else:
            np.testing.assert_array_equal(got, want)


def run_layer_test(
    layer_cls,
    init_kwargs,
    inputs,
    expected_output_shape,
    keyword_inputs=None,
    expected_num_trainable_weights=0,
    expected_num_non_trainable_weights=0,
    run_training_check=True,
    run_mixed_precision_check=True,
    saved_model_dir=None,
):
    """Runs every check on `layer_cls(**init_kwargs)` called on `inputs` (a tuple of positional arrays) and
    `keyword_inputs` (`{argument: array}`, e.g. a mask).

    Args:
        expected_output_shape: the shape of the output, or a list of shapes for several outputs.
        run_training_check: whether one gradient step must move every trainable weight (layers whose
            outputs are integers have no gradient).
        saved_model_dir: where the `.keras` and SavedModel round trips write; skipped when None.
    """
    keyword_inputs = keyword_inputs or {}
    tensors = [_as_tensor(array) for array in inputs]
    keyword_tensors = {name: _as_tensor(array) for name, array in keyword_inputs.items()}
    expected = expected_output_shape if isinstance(expected_output_shape, list) else [expected_output_shape]

    layer = layer_cls(**init_kwargs)
    serialized = keras.saving.serialize_keras_object(layer)
    assert keras.saving.serialize_keras_object(layer_cls.from_config(layer.get_config())) == serialized
    # A copy: some Keras layers (TextVectorization) deserialize their config in place.
    revived = keras.saving.deserialize_keras_object(copy.deepcopy(serialized))
    assert type(revived) is layer_cls and keras.saving.serialize_keras_object(revived) == serialized

    outputs = layer(*tensors, **keyword_tensors)
    assert _shapes(outputs) == [tuple(shape) for shape in expected]
    assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    symbolic = _LayerModel(layer_cls(**init_kwargs), inputs, keyword_inputs)
    for output, shape in zip(symbolic.model.outputs, expected):
        assert output.shape[0] is None and len(output.shape) == len(shape)
        assert all(known in (None, size) for known, size in zip(output.shape[1:], shape[1:])), output.shape

    if run_training_check:
        _check_one_training_step(layer, tensors, keyword_tensors)
    if run_mixed_precision_check:
        for policy in MIXED_POLICIES:
            _check_mixed_precision(layer_cls, init_kwargs, policy, tensors, keyword_tensors)
    if saved_model_dir is not None:
        _check_save_and_load(layer_cls, init_kwargs, inputs, keyword_inputs, saved_model_dir)


def _check_one_training_step(layer, tensors, keyword_tensors):
    with tf.GradientTape() as tape:
        outputs = layer(*tensors, **keyword_tensors, training=True)
        loss = tf.add_n([tf.reduce_sum(tf.square(tf.cast(output, tf.float32))) for output in _flat(outputs)])
    gradients = tape.gradient(loss, layer.trainable_weights)
    before = [weight.numpy().copy() for weight in layer.trainable_weights]
    for weight, gradient in zip(layer.trainable_weights, gradients):
        assert gradient is not None, f"no gradient reaches {weight.path}"
        gradient = tf.convert_to_tensor(gradient)
        assert np.all(np.isfinite(gradient.numpy())), f"non-finite gradient for {weight.path}"
        weight.assign_sub(0.1 * gradient)
    moved = [not np.array_equal(old, weight.numpy()) for old, weight in zip(before, layer.trainable_weights)]
    assert all(moved), [weight.path for weight, ok in zip(layer.trainable_weights, moved) if not ok]


def _check_mixed_precision(layer_cls, init_kwargs, policy, tensors, keyword_tensors):
    layer = layer_cls(**init_kwargs, dtype=policy)
    outputs = layer(*tensors, **keyword_tensors)
    # A sub-layer built without `dtype=self.dtype_policy` computes in float32 under any policy.
    for sublayer in layer._flatten_layers(include_self=False):
        if sublayer.weights:
            assert sublayer.dtype_policy.name == policy, (
                f"{sublayer.name} of {layer.name} runs {sublayer.dtype_policy.name}"
            )
    for weight in layer.weights:
        if weight.dtype.startswith("float"):
            assert weight.dtype == "float32", f"{weight.path} is stored as {weight.dtype}"
    for output in _flat(outputs):
        if output.dtype.is_floating:
            assert np.all(np.isfinite(tf.cast(output, tf.float32).numpy())), f"non-finite output under {policy}"


def _check_save_and_load(layer_cls, init_kwargs, inputs, keyword_inputs, directory):
    wrapped = _LayerModel(layer_cls(**init_kwargs), inputs, keyword_inputs)
    model, arrays = wrapped.model, wrapped.arrays
    expected = model(arrays)

    model.save(directory / "layer.keras")
    _assert_same_outputs(keras.saving.load_model(directory / "layer.keras")(arrays), expected, atol=1e-6)

    module = tf.Module()
    module.model = model
    signature = [tf.TensorSpec([None] + list(array.shape[1:]), array.dtype) for array in arrays]
    module.serve = tf.function(lambda *args: model(list(args)), input_signature=signature)
    tf.saved_model.save(module, str(directory / "saved_model"))
    loaded = tf.saved_model.load(str(directory / "saved_model"))
    _assert_same_outputs(loaded.serve(*arrays), expected, atol=1e-6)
