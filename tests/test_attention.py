import keras
import numpy as np
import tensorflow as tf

from tests.layer_test_case import run_layer_test
from zoo.layers import AdditiveAttention


def _inputs(batch=3, query_time=4, source_time=5, seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(batch, query_time, 6)).astype("float32")
    values = rng.normal(size=(batch, source_time, 7)).astype("float32")
    lengths = np.array([5, 2, 0])[:batch]
    mask = np.arange(source_time)[None] < lengths[:, None]
    return query, values, mask


def test_shapes():
    query, values, mask = _inputs()
    context, weights = AdditiveAttention(8)(query, values, source_mask=mask)
    assert context.shape == (3, 4, 7) and weights.shape == (3, 4, 5)


def test_weights_sum_to_one_over_the_source_and_are_zero_on_padding():
    query, values, mask = _inputs()
    context, weights = AdditiveAttention(8)(query, values, source_mask=mask)
    weights = weights.numpy()
    np.testing.assert_allclose(weights[:2].sum(-1), 1.0, rtol=1e-5)
    assert np.all(weights[1, :, 2:] == 0.0)
    # A source with nothing to attend to gets no weight and a zero context, not NaN.
    assert np.all(weights[2] == 0.0) and np.all(context.numpy()[2] == 0.0)
    # Padding content cannot leak into the context.
    values_changed = values.copy()
    values_changed[1, 2:] = 100.0
    layer = AdditiveAttention(8)
    first = layer(query, values, source_mask=mask)[0].numpy()
    second = layer(query, values_changed, source_mask=mask)[0].numpy()
    np.testing.assert_allclose(first[1], second[1], rtol=1e-6)


def test_no_mask_attends_everywhere_and_projected_keys_give_the_same_result():
    query, values, _ = _inputs()
    layer = AdditiveAttention(8)
    context, weights = layer(query, values)
    np.testing.assert_allclose(weights.numpy().sum(-1), 1.0, rtol=1e-5)
    again, _ = layer(query, values, projected_keys=layer.project_keys(values))
    np.testing.assert_allclose(context.numpy(), again.numpy(), rtol=1e-6)


def test_config_round_trip_and_keras_save_load(tmp_path):
    layer = AdditiveAttention(8, name="attend")
    assert AdditiveAttention.from_config(layer.get_config()).get_config() == layer.get_config()

    query_in = keras.Input((None, 6))
    values_in = keras.Input((None, 7))
    mask_in = keras.Input((None,), dtype="bool")
    model = keras.Model([query_in, values_in, mask_in], layer(query_in, values_in, source_mask=mask_in))
    query, values, mask = _inputs()
    path = tmp_path / "attention.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    for expected, actual in zip(model([query, values, mask]), restored([query, values, mask])):
        np.testing.assert_allclose(expected.numpy(), actual.numpy(), rtol=1e-6)


def test_runs_in_tf_function_with_unknown_lengths():
    layer = AdditiveAttention(4)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, 6]),
            tf.TensorSpec([None, None, 7]),
            tf.TensorSpec([None, None], tf.bool),
        ]
    )
    def attend(query, values, mask):
        return layer(query, values, source_mask=mask)

    query, values, mask = _inputs()
    context, weights = attend(query, values, mask)
    assert context.shape == (3, 4, 7)


def test_passes_the_layer_checks(tmp_path):
    query, values, mask = _inputs()
    run_layer_test(
        AdditiveAttention,
        {"hidden_dim": 8},
        (query, values),
        [(3, 4, 7), (3, 4, 5)],
        keyword_inputs={"source_mask": mask},
        expected_num_trainable_weights=4,
        saved_model_dir=tmp_path,
    )
