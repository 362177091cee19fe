"""CRF: likelihood and decoding against brute-force enumeration of every tag path."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layer_test_case import run_layer_test
from zoo.layers import CRF
from zoo.layers.crf import CRFLoss

NUM_TAGS, TIME = 3, 4


def _path_score(crf, emissions, path):
    transitions = crf.transitions.numpy()
    return (
        crf.start_transitions.numpy()[path[0]]
        + sum(emissions[t, tag] for t, tag in enumerate(path))
        + sum(transitions[a, b] for a, b in zip(path, path[1:]))
        + crf.end_transitions.numpy()[path[-1]]
    )


@pytest.fixture
def case():
    rng = np.random.default_rng(0)
    crf = CRF(NUM_TAGS)
    crf.build((None, None, NUM_TAGS))
    # Larger transitions than the initializer's make the best path differ from the per-step argmax.
    crf.transitions.assign(rng.normal(size=(NUM_TAGS, NUM_TAGS)).astype("float32") * 2)
    emissions = rng.normal(size=(3, TIME, NUM_TAGS)).astype("float32")
    lengths = np.array([4, 2, 1])
    mask = np.arange(TIME)[None] < lengths[:, None]
    return crf, emissions, lengths, mask


def test_log_likelihood_equals_brute_force(case):
    crf, emissions, lengths, mask = case
    rng = np.random.default_rng(1)
    gold = rng.integers(0, NUM_TAGS, size=(3, TIME))
    log_likelihood = crf.log_likelihood(emissions, gold, mask).numpy()
    for row, length in enumerate(lengths):
        scores = [_path_score(crf, emissions[row], path) for path in itertools.product(range(NUM_TAGS), repeat=length)]
        expected = _path_score(crf, emissions[row], gold[row, :length]) - np.logaddexp.reduce(scores)
        np.testing.assert_allclose(log_likelihood[row], expected, rtol=1e-5, atol=1e-5)


def test_viterbi_equals_brute_force_argmax(case):
    crf, emissions, lengths, mask = case
    decoded = crf(emissions, mask=mask).numpy()
    for row, length in enumerate(lengths):
        paths = list(itertools.product(range(NUM_TAGS), repeat=length))
        best = paths[int(np.argmax([_path_score(crf, emissions[row], path) for path in paths]))]
        assert decoded[row, :length].tolist() == list(best)
        assert (decoded[row, length:] == 0).all()


def test_masked_steps_are_ignored(case):
    crf, emissions, lengths, mask = case
    gold = np.zeros((3, TIME), "int64")
    noisy = emissions + np.where(mask[:, :, None], 0.0, 100.0).astype("float32")
    np.testing.assert_allclose(crf.log_likelihood(noisy, gold, mask), crf.log_likelihood(emissions, gold, mask))
    np.testing.assert_array_equal(crf(noisy, mask=mask), crf(emissions, mask=mask))
    # Rows decoded alone, cut to their length, give the same paths as in the padded batch.
    for row, length in enumerate(lengths):
        alone = crf(emissions[row : row + 1, :length]).numpy()[0]
        np.testing.assert_array_equal(alone, crf(emissions, mask=mask).numpy()[row, :length])


def test_empty_sequences_have_zero_loss_and_decode_to_padding(case):
    crf, emissions, _, _ = case
    mask = np.zeros((3, TIME), bool)
    np.testing.assert_array_equal(crf.log_likelihood(emissions, np.zeros((3, TIME)), mask), 0.0)
    np.testing.assert_array_equal(crf(emissions, mask=mask), 0)


def test_one_step_inputs_decode_in_a_graph(case):
    crf, emissions, _, _ = case
    decode = tf.function(lambda e: crf(e), input_signature=[tf.TensorSpec([None, None, NUM_TAGS])])
    assert decode(emissions[:, :1]).shape == (3, 1)
    assert decode(emissions[:, :0]).shape == (3, 0)


def test_loss_reads_padding_from_labels(case):
    crf, emissions, lengths, mask = case
    gold = np.where(mask, 1, -1)
    expected = -np.mean(crf.log_likelihood(emissions, np.maximum(gold, 0), mask).numpy())
    np.testing.assert_allclose(CRFLoss(crf)(gold, emissions).numpy(), expected, rtol=1e-6)


def test_crf_learns_a_transition_rule():
    """Tags alternate 1, 2, 1, 2 whatever the (uninformative) emissions: only transitions can learn it."""
    inputs = keras.Input((None, NUM_TAGS))
    crf = CRF(NUM_TAGS)
    model = keras.Model(inputs, inputs)
    decoder = keras.Model(inputs, crf(inputs))
    model.crf = crf
    model.compile(keras.optimizers.Adam(0.1), loss=CRFLoss(crf))
    emissions = np.zeros((32, 6, NUM_TAGS), "float32")
    tags = np.tile([1, 2, 1, 2, 1, 2], (32, 1))
    model.fit(emissions, tags, epochs=30, verbose=0)
    np.testing.assert_array_equal(decoder(emissions[:2]), tags[:2])


def test_serialization_and_saved_model(case, tmp_path):
    crf, emissions, _, mask = case
    restored = CRF.from_config(crf.get_config())
    assert restored.get_config() == crf.get_config()

    inputs = keras.Input((None, NUM_TAGS))
    model = keras.Model(inputs, crf(inputs))
    model.save(tmp_path / "crf.keras")
    loaded = keras.saving.load_model(tmp_path / "crf.keras")
    np.testing.assert_array_equal(loaded(emissions), model(emissions))

    module = tf.Module()
    module.crf = crf
    module.decode = tf.function(
        lambda e, m: crf(e, mask=m),
        input_signature=[tf.TensorSpec([None, None, NUM_TAGS]), tf.TensorSpec([None, None], tf.bool)],
    )
    tf.saved_model.save(module, str(tmp_path / "saved"))
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_array_equal(reloaded.decode(emissions, mask), crf(emissions, mask=mask))


def test_rejects_mismatched_emissions():
    with pytest.raises(ValueError, match="tags"):
        CRF(5)(np.zeros((1, 2, 3), "float32"))


def test_passes_the_layer_checks(case, tmp_path):
    _, emissions, _, mask = case
    run_layer_test(
        CRF,
        {"num_tags": NUM_TAGS},
        (emissions,),
        (3, TIME),
        keyword_inputs={"mask": mask},
        expected_num_trainable_weights=3,
        run_training_check=False,
        saved_model_dir=tmp_path,
    )
