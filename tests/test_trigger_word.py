"""Trigger word: features against librosa, streaming against offline, clip synthesis, the event metric,
detection, bad audio, a tiny train -> export -> load for another word, and the shipped detector."""

import dataclasses
import json
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from data_pipelines import audio
from tasks.trigger_word import data, detect, events, task
from tasks.trigger_word.config import PRESETS, TriggerWordConfig
from tasks.trigger_word.model import TriggerWordDetector
from tasks.trigger_word.train import train_and_evaluate
from tests import fixtures
from tests.conftest import ROOT, assert_each_weight_stored_once
from zoo import runner
from zoo.config import from_dict
from zoo.layers import LogMelSpectrogram

SHIPPED = ROOT / "saved_models" / "trigger_word"
RATE = audio.SAMPLE_RATE


def _tone(seconds, hertz, amplitude=0.5):
    time = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hertz * time)).astype(np.float32)


def _tone_bank():
    """A bank of tones standing in for words: enough to test how clips are mixed, with no TTS."""
    return data.Bank(
        positives=[_tone(0.6, 440), _tone(0.8, 550)],
        negatives=[_tone(0.5, 300), _tone(0.4, 700), _tone(0.9, 200)],
        negative_words=["a", "b", "c"],
        backgrounds=[],
        background_kinds=[],
    )


def test_features_match_librosa():
    librosa = pytest.importorskip("librosa")
    samples = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1 + _tone(1.0, 440)
    layer = LogMelSpectrogram()
    ours = layer(samples[np.newaxis])[0].numpy()
    # librosa centers a 400-sample window in its 512-sample frames; 56 zeros each side align the two.
    power = np.abs(librosa.stft(np.pad(samples, 56), n_fft=512, win_length=400, hop_length=160, center=False)) ** 2
    mel = librosa.filters.mel(sr=RATE, n_fft=512, n_mels=40, fmin=20.0, fmax=7600.0, htk=True, norm=None)
    reference = np.log(mel @ power + 1e-6).T
    assert ours.shape == reference.shape == (98, 40)
    np.testing.assert_allclose(ours, reference, atol=0.06)
    assert np.mean(np.abs(ours - reference)) < 0.01


def test_slaney_features_match_librosa():
    librosa = pytest.importorskip("librosa")
    samples = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1 + _tone(1.0, 440)
    layer = LogMelSpectrogram(num_mel_bins=32, lower_hertz=60.0, upper_hertz=3800.0, mel_scale="slaney")
    power = np.abs(librosa.stft(np.pad(samples, 56), n_fft=512, win_length=400, hop_length=160, center=False)) ** 2
    mel = librosa.filters.mel(sr=RATE, n_fft=512, n_mels=32, fmin=60.0, fmax=3800.0)
    np.testing.assert_allclose(layer(samples[np.newaxis])[0].numpy(), np.log(mel @ power + 1e-6).T, atol=0.06)
    with pytest.raises(ValueError, match="mel_scale"):
        LogMelSpectrogram(mel_scale="bark")


def test_log_mel_layer_round_trips_its_config():
    layer = LogMelSpectrogram(num_mel_bins=20, upper_hertz=4000.0)
    copy = LogMelSpectrogram.from_config(layer.get_config())
    samples = np.random.default_rng(1).standard_normal((2, 4000)).astype(np.float32)
    np.testing.assert_allclose(copy(samples).numpy(), layer(samples).numpy())
    assert layer.compute_output_shape((2, 4000)) == (2, 23, 20) == tuple(layer(samples).shape)


def _small_detector(front_end="conv"):
    return TriggerWordDetector(
        conv_filters=8, recurrent={"cell": "gru", "hidden_dim": 8, "num_layers": 2}, front_end=front_end
    )


@pytest.mark.parametrize("front_end", ["conv", "speech_embedding"])
def test_streaming_in_any_chunks_gives_the_offline_probabilities(front_end):
    model = _small_detector(front_end)
    samples = np.random.default_rng(2).standard_normal((2, 3 * RATE + 123)).astype(np.float32) * 0.1
    offline = model(samples).numpy()
    assert offline.shape == (2, samples.shape[1] // model.step_samples)
    rng = np.random.default_rng(3)
    state, parts, position = model.zero_state(2), [], 0
    while position < samples.shape[1]:
        size = int(rng.choice([0, 1, 100, 639, 640, 1600, 5000]))
        probabilities, state = model.stream(samples[:, position : position + size], state)
        parts.append(probabilities.numpy())
        position += size
    np.testing.assert_allclose(np.concatenate(parts, axis=1), offline, atol=1e-5)


@pytest.mark.parametrize("front_end", ["conv", "speech_embedding"])
def test_detector_saves_and_loads(front_end):
    model = _small_detector(front_end)
    copy = TriggerWordDetector.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    samples = np.random.default_rng(4).standard_normal((1, RATE)).astype(np.float32)
    np.testing.assert_allclose(copy(samples).numpy(), model(samples).numpy(), atol=1e-6)


def test_detector_augments_its_frames_only_while_training(tmp_path):
    augment = {"mel_warp": 0.2, "frequency_masks": 2, "frequency_mask_bins": 8}
    model = TriggerWordDetector(conv_filters=8, recurrent={"cell": "gru", "hidden_dim": 8}, augment=augment)
    samples = np.random.default_rng(4).standard_normal((2, RATE)).astype(np.float32)
    plain = TriggerWordDetector(conv_filters=8, recurrent={"cell": "gru", "hidden_dim": 8})
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(model(samples).numpy(), plain(samples).numpy(), atol=1e-6)
    assert not np.allclose(model(samples, training=True).numpy(), plain(samples, training=True).numpy())
    model.save(tmp_path / "detector.keras")
    loaded = keras.saving.load_model(tmp_path / "detector.keras")
    assert loaded.augment == augment
    np.testing.assert_allclose(loaded(samples).numpy(), model(samples).numpy(), atol=1e-6)


def test_input_dropout_falls_on_the_front_end_outputs_only_while_training(tmp_path):
    recurrent = {"cell": "gru", "hidden_dim": 8, "dropout": 0.0}
    model = TriggerWordDetector(conv_filters=8, recurrent=recurrent, input_dropout=0.9)
    plain = TriggerWordDetector(conv_filters=8, recurrent=recurrent)
    plain.set_weights(model.get_weights())
    samples = np.random.default_rng(4).standard_normal((2, RATE)).astype(np.float32)
    np.testing.assert_allclose(model(samples).numpy(), plain(samples).numpy(), atol=1e-6)
    assert not np.allclose(model(samples, training=True).numpy(), plain(samples, training=True).numpy())
    model.save(tmp_path / "detector.keras")
    loaded = keras.saving.load_model(tmp_path / "detector.keras")
    assert loaded.input_dropout == 0.9 and plain.input_dropout is None
    np.testing.assert_allclose(loaded(samples).numpy(), model(samples).numpy(), atol=1e-6)


def test_clips_never_overlap_their_words_and_the_seed_reproduces_them():
    bank = _tone_bank()
    for seed in range(20):
        samples, segments = data.make_clip(bank, ["white", "hum"], 5 * RATE, np.random.default_rng(seed), 4, 3)
        assert samples.shape == (5 * RATE,) and np.max(np.abs(samples)) <= 1.0
        for first, second in zip(segments, segments[1:]):
            assert first.end <= second.start
        assert all(0 <= segment.start < segment.end <= 5 for segment in segments)
        for segment in segments:  # each negative names its word: the 0.5-s tone is "a", 0.4 "b", 0.9 "c"
            nearest = min(zip((0.5, 0.4, 0.9), "abc"), key=lambda pair: abs(pair[0] - (segment.end - segment.start)))
            assert segment.word == ("" if segment.is_trigger else nearest[1])
    again, same = data.make_clip(bank, ["white", "hum"], 5 * RATE, np.random.default_rng(19), 4, 3)
    np.testing.assert_array_equal(samples, again)
    assert same == segments


def test_another_seed_draws_other_training_clips_and_the_same_validation_and_test_clips():
    bank = _tone_bank()
    first, second = TriggerWordConfig(clip_seconds=4.0), TriggerWordConfig(clip_seconds=4.0, seed=1)
    for split in ("validation", "test"):
        assert data.clip_at(first, bank, split, 3)[1] == data.clip_at(second, bank, split, 3)[1]
    assert data.clip_at(first, bank, "train", 3)[1] != data.clip_at(second, bank, "train", 3)[1]
    moved = TriggerWordConfig(clip_seconds=4.0, data_seed=1)
    assert data.clip_at(first, bank, "test", 3)[1] != data.clip_at(moved, bank, "test", 3)[1]
    assert data.clip_at(first, bank, "train", 3)[1] == data.clip_at(moved, bank, "train", 3)[1]


def test_a_share_of_training_negatives_comes_from_the_confusable_takes():
    bank = _tone_bank()
    said = {}
    for share in (0.0, 0.5, 1.0):
        words = []
        for seed in range(40):
            rng = np.random.default_rng(seed)
            _, segments = data.make_clip(bank, ["white"], 8 * RATE, rng, 0, 3, data.WordDraw(None, (2,), share))
            words += [segment.word for segment in segments]
            if share == 0.0:  # no share draws nothing more: the clip of the classic recipe
                _, classic = data.make_clip(bank, ["white"], 8 * RATE, np.random.default_rng(seed), 0, 3)
                assert segments == classic
        said[share] = words.count("c") / len(words)
    assert said[1.0] == 1.0 and 0.25 < said[0.0] < 0.45 and said[0.0] < said[0.5] < said[1.0]


def test_no_training_word_begins_within_the_pause_after_a_trigger():
    bank = _tone_bank()
    gaps = {0.0: [], 0.3: []}
    for seed in range(40):
        for pause in gaps:
            paused = data.WordDraw(trigger_pause=pause)
            _, segments = data.make_clip(bank, ["white"], 6 * RATE, np.random.default_rng(seed), 3, 4, paused)
            gaps[pause] += [b.start - a.end for a, b in zip(segments, segments[1:]) if a.is_trigger]
            gaps[pause] += [6 - s.end for s in segments[-1:] if s.is_trigger]
        # The pause is the triggers' alone: a clip without one is the classic recipe's, draw for draw.
        classic = data.make_clip(bank, ["white"], 6 * RATE, np.random.default_rng(seed), 0, 4)[1]
        paused = data.WordDraw(trigger_pause=0.3)
        assert data.make_clip(bank, ["white"], 6 * RATE, np.random.default_rng(seed), 0, 4, paused)[1] == classic
    assert min(gaps[0.3]) >= 0.3 - 1e-4 and min(gaps[0.0]) < 0.1
    paused_config = TriggerWordConfig(clip_seconds=6.0, trigger_pause=0.3)
    for split in ("validation", "test"):  # training only
        assert (
            data.clip_at(paused_config, bank, split, 5)[1]
            == data.clip_at(TriggerWordConfig(clip_seconds=6.0), bank, split, 5)[1]
        )


def test_training_clips_play_their_words_within_the_speed_range():
    bank = _tone_bank()
    lengths = {"fixed": set(), "range": set(), "first recipe": set()}
    for seed in range(10):
        for name, speeds in (("fixed", (1.25, 1.25)), ("range", (0.85, 1.25)), ("first recipe", None)):
            _, segments = data.make_clip(
                bank, ["white"], 8 * RATE, np.random.default_rng(seed), 3, 0, data.WordDraw(speeds)
            )
            lengths[name].update(round(segment.end - segment.start, 3) for segment in segments)
    assert lengths["fixed"] == {0.48, 0.64}  # the 0.6-s and 0.8-s triggers, 1.25 times faster
    assert all(0.6 / 1.25 - 0.001 <= length <= 0.8 / 0.85 + 0.001 for length in lengths["range"])
    assert all(0.6 / 1.1 - 0.001 <= length <= 0.8 / 0.9 + 0.001 for length in lengths["first recipe"])
    with pytest.raises(ValueError, match="fastest_word must be in"):
        TriggerWordConfig(fastest_word=0.9)


def test_labels_are_the_half_second_after_each_trigger_end():
    labels = data.step_labels([1.0, 3.02], 100, 0.04)
    step_ends = (np.arange(100) + 1) * 0.04
    expected = ((step_ends > 1.0) & (step_ends <= 1.5)) | ((step_ends > 3.02) & (step_ends <= 3.52))
    np.testing.assert_array_equal(labels, expected.astype(np.float32))
    assert labels[25] == 1 and labels[24] == 0 and labels[36] == 1 and labels[37] == 0
    # A delay moves the window's start, not its end: still within the half second a detection may take.
    delayed = data.step_labels([1.0, 3.02], 100, 0.04, delay=0.2)
    np.testing.assert_array_equal(
        delayed,
        (expected & ~((step_ends > 1.0) & (step_ends <= 1.2)) & ~((step_ends > 3.02) & (step_ends <= 3.22))).astype(
            np.float32
        ),
    )
    assert delayed[29] == 0 and delayed[30] == 1 and delayed[36] == 1 and delayed[37] == 0


def test_clips_are_scored_with_time_to_answer_a_trigger_at_their_end():
    config = TriggerWordConfig(clip_seconds=4.0, front_end="conv")
    bank = _tone_bank()
    heard = []

    class Listener:  # in the detector's place: what evaluation feeds it, and a step count as the detector's
        def predict_on_batch(self, samples):
            heard.append(samples)
            return np.zeros((len(samples), samples.shape[1] // 640), np.float32)

    probabilities, _ = task.TriggerWordTask(config).probabilities(Listener(), bank, "test", [0, 1, 2])
    tail = round(data.MATCH_SECONDS * RATE)
    assert np.concatenate(heard).shape == (3, 4 * RATE + tail) and probabilities.shape == (3, (4 * RATE + tail) // 640)
    for row, index in zip(np.concatenate(heard), [0, 1, 2]):
        samples, _ = data.clip_at(config, bank, "test", index)
        np.testing.assert_array_equal(row[: 4 * RATE], samples)
        assert not row[4 * RATE :].any()
    # A trigger ending 0.1 s before its clip: its label window, and so its answer, lies wholly in the tail.
    labels = data.step_labels([3.9], probabilities.shape[1], 0.04, delay=0.2)
    assert labels[: 4 * 25].sum() == 0 and labels[4 * 25 :].sum() > 0


def test_negative_weight_falls_on_the_half_second_after_each_negative_end():
    weights = data.step_weights([1.0, 3.02], 100, 0.04, 5.0)
    step_ends = (np.arange(100) + 1) * 0.04
    after = ((step_ends > 1.0) & (step_ends <= 1.5)) | ((step_ends > 3.02) & (step_ends <= 3.52))
    np.testing.assert_array_equal(weights, np.where(after, 5.0, 1.0).astype(np.float32))
    np.testing.assert_array_equal(data.step_weights([1.0], 100, 0.04, 1.0), np.ones(100, np.float32))


def test_only_training_weighs_the_steps_after_negative_words():
    config = TriggerWordConfig(negative_weight=5.0, clip_seconds=4.0)
    clips = data.ClipSet(list(range(6)))
    weights = {
        split: np.concatenate(
            [batch[2].numpy() for batch in data.make_dataset(config, _tone_bank(), split, clips, split == "train")]
        )
        for split in ("train", "validation")
    }
    assert set(np.unique(weights["train"])) == {1.0, 5.0}
    assert np.all(weights["validation"] == 1.0)


def test_the_loss_weighs_each_step_by_its_weight():
    labels = tf.constant([[0.0, 0.0, 1.0, 0.0]])
    probabilities = tf.constant([[0.9, 0.1, 0.8, 0.2]])
    per_step = task.step_binary_crossentropy(labels, probabilities).numpy()
    np.testing.assert_allclose(per_step, -np.log([[0.1, 0.9, 0.8, 0.8]]), rtol=1e-5)
    # Weighting the first step (the one after a negative word, a false accept) moves the batch's loss by it.
    model = keras.Sequential([keras.layers.Identity()])
    model.compile(loss=task.step_binary_crossentropy)
    plain = model.evaluate(probabilities, labels, verbose=0)
    weighted = model.evaluate(probabilities, labels, sample_weight=tf.constant([[5.0, 1.0, 1.0, 1.0]]), verbose=0)
    assert plain == pytest.approx(per_step.mean(), rel=1e-5)
    assert weighted == pytest.approx((per_step * [5, 1, 1, 1]).mean(), rel=1e-5)


def test_the_max_pooling_loss_counts_each_window_at_its_most_probable_step():
    # Two clips: windows at steps 1-3 and 5-6 of the first, one at the end of the second, none in a third.
    labels = tf.constant([[0, 1, 1, 1, 0, 1, 1], [0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0]], tf.float32)
    probabilities = tf.constant(
        [[0.2, 0.3, 0.9, 0.4, 0.6, 0.7, 0.1], [0.1, 0.5, 0.5, 0.5, 0.5, 0.2, 0.3], [0.5] * 7], tf.float32
    )
    per_step = task.window_max_crossentropy(labels, probabilities).numpy()
    every_step = task.step_binary_crossentropy(labels, probabilities).numpy()
    counted = np.array([[1, 0, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 0, 1], [1] * 7], bool)
    np.testing.assert_allclose(per_step, np.where(counted, every_step, 0.0), rtol=1e-6)
    # The gradient reaches a window through its most probable step only.
    with tf.GradientTape() as tape:
        tape.watch(probabilities)
        loss = tf.reduce_sum(task.window_max_crossentropy(labels, probabilities))
    np.testing.assert_array_equal(tape.gradient(loss, probabilities).numpy() != 0, counted)
    assert task.TriggerWordTask(TriggerWordConfig(window_loss="max")).loss(None) is task.window_max_crossentropy
    with pytest.raises(ValueError, match="steps or max"):
        TriggerWordConfig(window_loss="mean")


def test_detection_needs_a_rising_edge_and_the_refractory_gap():
    probabilities = np.zeros((2, 40), np.float32)
    probabilities[0, [5, 6, 7]] = 0.9  # one event, held for three steps
    probabilities[0, [9]] = 0.8  # rises again within the gap: ignored
    probabilities[0, [30]] = 0.7  # after the gap: a second event
    times, counts = events.detect(probabilities, 0.5, refractory_steps=10, seconds_per_step=0.04)
    assert counts.numpy().tolist() == [2, 0]
    np.testing.assert_allclose(times.numpy()[0, :3], [0.24, 1.24, -1.0])
    assert np.all(times.numpy()[1] == -1)


def test_event_scores_on_hand_made_cases():
    # Clip 1: one hit, one false accept; clip 2: a miss; clip 3: two detections near one trigger.
    scores = events.event_scores([[1.2, 5.0], [], [2.1, 2.3]], [[1.0], [4.0], [2.0]], seconds=3600, tolerance=0.5)
    assert scores["triggers"] == 3 and scores["false_accepts"] == 2
    assert scores["precision"] == pytest.approx(2 / 4) and scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert scores["false_accepts_per_hour"] == 2.0 and scores["false_reject_rate"] == pytest.approx(1 / 3)
    assert events.match([0.6], [1.0, 0.0], 0.5) == (1, 0, 1)  # the nearest trigger takes it
    assert events.false_accepts([1.2, 1.3, 5.0], [1.0], 0.5) == [1.3, 5.0]


def test_false_accepts_count_for_the_word_said_last_before_them():
    words = [(0.2, 1.0, "activate"), (3.0, 3.6, "activates"), (4.0, 4.5, "pals")]
    causes = events.false_accept_causes(
        # a hit at 1.2; a second detection of the trigger; inside "activates"; 0.9 s after "pals" ends; 1.5 s
        # after it, beyond reach; and a clip of no words
        [[1.2, 2.0, 3.5, 5.4, 6.0], [2.0]],
        [[1.0], []],
        [words, []],
        tolerance=0.5,
        reach=1.0,
    )
    assert causes == {"activate": 1, "activates": 1, "pals": 1, None: 2}


def test_confusable_rule_finds_near_sounding_words():
    fixtures.skip_without_tts()
    words = data.confusable_words("activate", 12, data.dictionary_words())
    assert "activate" not in words and len(words) == 12
    assert {"deactivate", "captivate", "activated"} & set(words)
    assert data.confusable_words("hey zoo", 5, data.dictionary_words())[:2] == ["hey", "zoo"]


def _median_pitch_hz(samples, fmin=50.0, fmax=400.0, frame=1024, hop=256):
    """Median fundamental frequency of the loud frames: the lag of each one's autocorrelation peak.

    Plain numpy on purpose: librosa's pyin runs numba gufuncs whose on-disk cache, written by several processes
    of a fresh environment at once, can crash the process that loads it (numba issue 10128); that killed a CI run.
    """
    frames = np.lib.stride_tricks.sliding_window_view(samples, frame)[::hop] * np.hanning(frame)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = frames[rms >= 0.3 * rms.max()]
    autocorrelation = np.fft.irfft(np.abs(np.fft.rfft(loud, 2 * frame)) ** 2)[:, :frame]
    lags = np.arange(int(RATE / fmax), int(RATE / fmin) + 1)
    return float(np.median(RATE / lags[np.argmax(autocorrelation[:, lags], axis=1)]))


def test_training_voices_are_widened_in_variant_and_pitch():
    fixtures.skip_without_tts()
    variants = audio.espeak_variants()
    assert set(data.ESPEAK_VARIANTS) - {""} <= set(variants) and len(variants) > len(data.ESPEAK_VARIANTS)

    voice_like = sum(_tone(1.0, 125 * harmonic, 0.5 / harmonic) for harmonic in range(1, 6))
    assert _median_pitch_hz(voice_like) == pytest.approx(125, rel=0.02)
    low, high = (_median_pitch_hz(audio.synthesize("activate", "flite", "kal", f0_hz=f0)) for f0 in (100.0, 200.0))
    assert high / low == pytest.approx(2.0, rel=0.15)


def test_piper_takes_follow_their_speed_and_their_seed():
    fixtures.skip_without_tts()
    slow, fast = (audio.synthesize("activate", "piper", "joe", speed=speed, seed=1) for speed in (0.8, 1.25))
    assert 0.3 < len(fast) / RATE < len(slow) / RATE < 1.5
    np.testing.assert_array_equal(audio.synthesize("activate", "piper", "joe", speed=0.8, seed=1), slow)
    other = audio.synthesize("activate", "piper", "joe", speed=0.8, seed=2)
    assert len(other) != len(slow) or not np.array_equal(other, slow)


@pytest.mark.parametrize("engine, voice", [("rhvoice", "bdl"), ("pico", "en-US")])
def test_rhvoice_and_pico_takes_follow_their_speed_and_pitch(engine, voice):
    fixtures.skip_without_tts(non_free_voices=True)
    slow, fast = (audio.synthesize("activate", engine, voice, speed=speed) for speed in (0.8, 1.25))
    assert 0.3 < len(fast) / RATE < len(slow) / RATE < 1.5
    low, high = (_median_pitch_hz(audio.synthesize("activate", engine, voice, pitch_scale=s)) for s in (0.8, 1.3))
    assert high / low == pytest.approx(1.3 / 0.8, rel=0.15)
    with pytest.raises(ValueError, match=f"{engine} voices"):
        audio.synthesize("activate", engine, "lyubov")


@pytest.mark.parametrize(
    "option, added",
    [("non_free_voices", len(data.NON_FREE_VOICES)), ("kokoro_english", len(data.KOKORO_ENGLISH_GROUPS))],
)
def test_optional_voices_join_the_training_bank_only(tmp_path, option, added):
    fixtures.skip_without_tts(**{option: True})
    config = from_dict(TriggerWordConfig, {"trigger_takes": 1, "word_voices": 1, "recordings_dir": str(tmp_path)})
    with_them = dataclasses.replace(config, **{option: True})
    without, with_more = (data.build_bank(c, "train", ["captivate"]) for c in (config, with_them))
    assert len(with_more.positives) == len(without.positives) + added
    words = data.bank_words(config)
    assert data._bank_path(config, words, "train") != data._bank_path(with_them, words, "train")
    for split in ("validation", "test"):
        assert data._bank_path(config, words, split) == data._bank_path(with_them, words, split)


def test_kokoro_reads_the_phonemes_of_english_words():
    fixtures.skip_without_tts()
    assert audio.kokoro_phonemes("activate") == "ˈæktᵻvˌAt"  # e^ɪ is Kokoro's A
    for word in ("bird", "button", "joy", "house", "go", "my", "judge", "church", "little", "hey zoo"):
        assert audio.kokoro_phonemes(word)  # raises for a symbol Kokoro does not read


def test_kokoro_takes_follow_their_speed_and_their_blend():
    fixtures.skip_without_tts()
    slow, fast = (audio.synthesize("activate", "kokoro", "jf_alpha", speed=speed) for speed in (0.8, 1.25))
    assert 0.3 < len(fast) / RATE < len(slow) / RATE < 1.5
    np.testing.assert_array_equal(audio.synthesize("activate", "kokoro", "jf_alpha:1", speed=0.8), slow)
    blend = audio.synthesize("activate", "kokoro", "jf_alpha:0.5,jm_kumo:0.5", speed=0.8)
    assert len(blend) != len(slow) or not np.allclose(blend, slow)
    with pytest.raises(ValueError, match="Kokoro voices"):
        audio.synthesize("activate", "kokoro", "zz_nobody")
    with pytest.raises(ValueError, match="phonemes"):
        audio.synthesize(" ", "kokoro", "jf_alpha")


def test_kokoro_says_the_word_a_keyword_spotter_hears():
    """The phonemes reach Kokoro as the word: PocketSphinx, which hears almost none of espeak-ng's own takes of
    "activate", finds it in Kokoro's male voice speaking espeak-ng's phonemes, and not "captivate"."""
    fixtures.skip_without_tts()
    pytest.importorskip("pocketsphinx")
    from benchmarks.trigger_word import sphinx_clip

    def spotted(word):
        return sphinx_clip("activate", 1e-20, np.pad(audio.synthesize(word, "kokoro", "jm_kumo"), RATE // 2))

    assert spotted("activate") and not spotted("captivate")


def test_kokoro_english_voices_speak_the_word_in_their_accent():
    """Kokoro's British voices read espeak-ng's British phonemes, its American ones the US phonemes, and a keyword
    spotter hears the trigger, not an ordinary word, in a voice of each group."""
    fixtures.skip_without_tts(kokoro_english=True)
    assert audio.kokoro_phonemes("activate", "en-gb") == "ˈaktɪvˌAt"  # the British trap vowel, a full ɪ
    assert audio.kokoro_phonemes("go there", "en-gb") == "ɡˌQ ðˈɛː"  # əʊ is Kokoro's Q, the length marks stay
    for word in ("bird", "tour", "near", "judge", "church", "little", "hey zoo"):
        assert audio.kokoro_phonemes(word, "en-gb")  # raises for a symbol Kokoro does not read
    with pytest.raises(ValueError, match="accents"):
        audio.kokoro_phonemes("activate", "en-au")
    pytest.importorskip("pocketsphinx")
    from benchmarks.trigger_word import sphinx_clip

    def spotted(word, voice):
        return sphinx_clip("activate", 1e-20, np.pad(audio.synthesize(word, "kokoro", voice), RATE // 2))

    for voice in ("af_heart", "am_michael", "bf_emma", "bm_george"):
        assert spotted("activate", voice) and not spotted("sawdust", voice), voice


def test_kokoro_english_without_its_voices_says_how_to_fetch_them(tmp_path, monkeypatch):
    fixtures.skip_without_tts()
    monkeypatch.setattr(audio, "KOKORO_ENGLISH_DIR", tmp_path)
    config = from_dict(TriggerWordConfig, {"kokoro_english": True, "cache_dir": str(tmp_path)})
    with pytest.raises(RuntimeError, match="make kokoro-voices"):
        data.load_banks(config)


def test_kokoro_english_takes_speak_between_two_voices_of_their_group():
    rng = np.random.default_rng(0)
    for group in data.KOKORO_ENGLISH_GROUPS:
        for _ in range(20):
            blend = dict(
                part.split(":") for part in data._take("activate", "kokoro", group, rng, True)["voice"].split(",")
            )
            assert len(blend) == 2 and all(name.startswith(f"{group}_") for name in blend)
            assert sum(map(float, blend.values())) == pytest.approx(1, abs=2e-3)


def test_no_speaker_is_heard_in_two_splits():
    voices = {split: {data.speaker(voice) for voice in data._voices(split, True, True)} for split in data.SPLIT_NAMES}
    assert set(data.NON_FREE_VOICES) <= set(data._voices("train", True)) - set(data._voices("train"))
    assert data.speaker(("rhvoice", "slt")) in voices["test"]  # flite's slt: one speaker, two engines
    assert all(voices.values())
    for index, split in enumerate(data.SPLIT_NAMES):
        for other in data.SPLIT_NAMES[index + 1 :]:
            assert not voices[split] & voices[other], (split, other)


def test_read_audio_resamples_and_mixes_down(tmp_path):
    pytest.importorskip("soundfile")
    import soundfile

    for rate in (8000, 48000):
        time = np.arange(rate) / rate
        tone = (0.5 * np.sin(2 * np.pi * 440 * time)).astype(np.float32)
        # A silent right channel: mixed down, the tone has half its amplitude (the left channel alone would not).
        soundfile.write(tmp_path / f"{rate}.wav", np.stack([tone, np.zeros_like(tone)], axis=1), rate)
        samples = audio.read_audio(tmp_path / f"{rate}.wav")
        assert samples.shape == (RATE,) and samples.dtype == np.float32
        assert np.max(np.abs(samples)) == pytest.approx(0.25, abs=0.01)
    (tmp_path / "bad.wav").write_bytes(b"RIFF not really a wave file")
    with pytest.raises(audio.UnreadableAudio, match="not readable audio"):
        audio.read_audio(tmp_path / "bad.wav")
    soundfile.write(tmp_path / "empty.wav", np.zeros((0, 1), np.float32), RATE)
    with pytest.raises(audio.UnreadableAudio, match="no samples"):
        audio.read_audio(tmp_path / "empty.wav")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_trigger_word_config):
    workdir = tmp_path_factory.mktemp("trigger_word_tiny")
    config = from_dict(TriggerWordConfig, {**tiny_trigger_word_config.to_dict(), "out_dir": str(workdir)})
    metrics = train_and_evaluate(config)
    return workdir, metrics, keras.saving.load_model(workdir / "export" / "model.keras")


def test_tiny_detector_for_another_word_trains_and_exports(tiny_run):
    workdir, metrics, model = tiny_run
    card = json.loads((workdir / "export" / "model_card.json").read_text())
    words = card["data"]["words"]
    assert card["name"] == "trigger_word-hey_zoo" and words["confusable"][:2] == ["hey", "zoo"]
    assert card["state_size"] == model.state_size  # what an app's first `stream` call is given, as zeros
    # Training's own words are heard in no other split.
    training = words["training_confusable"] + words["training_ordinary"]
    assert training and not set(training) & set(words["confusable"] + words["ordinary"])
    for key in ("f1", "false_accepts_per_hour", "false_reject_rate", "frame_accuracy"):
        assert np.isfinite(metrics["test"][key])
    assert metrics["split_sizes"]["test"] == PRESETS["tiny"]["test_clips"] + PRESETS["tiny"]["negative_test_clips"]
    # Every test false accept is put down to one word (or the background), each word to its kind.
    by_word = card["false_accepts_by_word"]
    assert sum(row["false_accepts"] for row in by_word) == metrics["test"]["false_accepts"]
    kinds = {"confusable", "ordinary", "trigger", "recording", "background"}
    assert all(row["kind"] in kinds and row["false_accepts"] > 0 for row in by_word)
    assert_each_weight_stored_once(workdir / "export")
    # The demo's example: synthesized test voices only, the trigger twice and a confusable word between.
    assert card["examples"] == [task.EXAMPLE_FILE] and "'hey zoo' (trigger)" in card["example"]
    example = audio.read_audio(workdir / "export" / task.EXAMPLE_FILE)
    assert example.shape == (10 * RATE,) and np.abs(example[RATE : 2 * RATE]).max() > 0.5


def test_reexport_refreshes_the_interface_fields_and_keeps_the_measurements(tiny_run, tmp_path):
    workdir, metrics, _ = tiny_run
    export_dir = tmp_path / "export"
    shutil.copytree(workdir / "export", export_dir)
    card_path = export_dir / "model_card.json"
    stale = json.loads(card_path.read_text())
    # An export made before its task's card listed these fields (the last one a measurement of the test split).
    for field in ("sequence_outputs", "examples", "false_accepts_by_word"):
        del stale[field]
    stale["inputs"] = {"serve": "an older description"}
    card_path.write_text(json.dumps(stale))
    runner.reexport(task.TriggerWordTask, export_dir)
    card = json.loads(card_path.read_text())
    assert card["sequence_outputs"] == {"num_events": ["event_times"]} and card["examples"] == [task.EXAMPLE_FILE]
    exported = json.loads((workdir / "export" / "model_card.json").read_text())
    assert card["inputs"] == exported["inputs"]
    assert card["false_accepts_by_word"] == exported["false_accepts_by_word"]
    assert card["test_metrics"] == metrics["test"] and "--reexport" in card["export_note"]


def test_saved_model_matches_keras_offline_and_streaming(tiny_run):
    workdir, _, model = tiny_run
    loaded = tf.saved_model.load(str(workdir / "export" / "saved_model"))
    samples = np.random.default_rng(5).standard_normal((2, 2 * RATE)).astype(np.float32) * 0.2
    served = loaded.serve(samples=tf.constant(samples))
    np.testing.assert_allclose(served["probabilities"].numpy(), model(samples).numpy(), atol=1e-5)
    state = tf.zeros([2, model.state_size])
    parts = []
    for start in range(0, samples.shape[1], 1600):
        outputs = loaded.stream(samples=tf.constant(samples[:, start : start + 1600]), state=state)
        parts.append(outputs["probabilities"].numpy())
        state = outputs["state"]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), served["probabilities"].numpy(), atol=1e-5)


def test_bad_samples_get_defined_outputs(tiny_run):
    workdir, _, model = tiny_run
    loaded = tf.saved_model.load(str(workdir / "export" / "saved_model"))
    empty = loaded.serve(samples=tf.zeros([1, 0]))
    assert empty["probabilities"].shape == (1, 0) and empty["num_events"].numpy().tolist() == [0]
    short = loaded.serve(samples=tf.zeros([1, 300]))  # shorter than one 40-ms step
    assert short["probabilities"].shape == (1, 0)
    clean = np.random.default_rng(6).uniform(-0.5, 0.5, (1, RATE)).astype(np.float32)
    broken = clean.copy()
    broken[0, [10, 200, 3000]] = [np.nan, np.inf, -np.inf]
    cleaned = clean.copy()
    cleaned[0, [10, 200, 3000]] = [0.0, 0.0, 0.0]
    outputs = loaded.serve(samples=tf.constant(broken))["probabilities"].numpy()
    assert np.all(np.isfinite(outputs))
    np.testing.assert_allclose(outputs, loaded.serve(samples=tf.constant(cleaned))["probabilities"].numpy())
    clipped = loaded.serve(samples=tf.constant(clean * 10))["probabilities"].numpy()
    np.testing.assert_allclose(
        clipped, loaded.serve(samples=tf.constant(np.clip(clean * 10, -1, 1)))["probabilities"].numpy()
    )


def test_chimes_are_mixed_in_after_each_detection():
    samples = np.zeros(RATE, np.float32)
    chimed = detect.with_chimes(samples, [0.25, 0.9], np.full(1600, 0.5, np.float32))
    assert chimed.shape == samples.shape
    assert chimed[4000] == 0.5 and chimed[3999] == 0 and chimed[4000 + 1600] == 0 and chimed[-1] == 0.5


def _shipped():
    if not (SHIPPED / "model_card.json").exists():
        pytest.skip("saved_models/trigger_word is not there")
    return json.loads((SHIPPED / "model_card.json").read_text())


def test_shipped_detector_finds_triggers_at_known_times(data_dir):
    fixtures.skip_without_tts()
    card = _shipped()
    config = from_dict(TriggerWordConfig, {**card["hyperparameters"], "cache_dir": "runs/cache/trigger_word"})
    config.data.data_dir = str(data_dir)
    banks, _ = data.load_banks(config, ["test"])
    loaded = tf.saved_model.load(str(SHIPPED / "saved_model"))
    found, ends = [], []
    for index in range(12):
        samples, segments = data.clip_at(config, banks["test"], "test", index)
        outputs = loaded.serve(samples=tf.constant(data.with_silent_tail(samples)[np.newaxis]))
        found.append(outputs["event_times"].numpy()[0][: int(outputs["num_events"][0])].tolist())
        ends.append(data.trigger_ends(segments))
    scores = events.event_scores(found, ends, 120, data.MATCH_SECONDS)
    # Twelve clips, scored as the runner scores them: bounds a little under the card's precision and recall on all
    # 1,360 (0.833 and 0.944).
    assert scores["recall"] >= 0.8 and scores["precision"] >= 0.7, (found, ends)
    silence = loaded.serve(samples=tf.zeros([1, 10 * RATE]))
    assert silence["num_events"].numpy().tolist() == [0]


def test_detect_command_prints_times_and_writes_chimes(tmp_path, data_dir):
    _shipped()
    recording = data_dir / "trigger_word" / "dev" / "1.wav"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tasks.trigger_word.detect",
            str(recording),
            "--out",
            str(tmp_path / "out.wav"),
            "--plot",
            str(tmp_path / "out.png"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout.splitlines()[0])
    assert row["seconds"] == 10.0 and all(0 < t <= 10 for t in row["detections_s"])
    assert audio.read_audio(tmp_path / "out.wav").shape == (10 * RATE,)
    assert (tmp_path / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pcm = (np.clip(audio.read_audio(recording), -1, 1) * 32767).astype("<i2").tobytes()
    streamed = subprocess.run(
        [sys.executable, "-m", "tasks.trigger_word.detect", "--stdin"],
        cwd=ROOT,
        input=pcm,
        capture_output=True,
        timeout=300,
    )
    assert streamed.returncode == 0, streamed.stderr
    times = [json.loads(line)["detection_s"] for line in streamed.stdout.decode().splitlines()]
    assert times == pytest.approx(row["detections_s"], abs=0.01)
    bad = subprocess.run(
        [sys.executable, "-m", "tasks.trigger_word.detect", str(tmp_path / "missing.wav")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode != 0 and "not readable audio" in bad.stderr
    # `zoo predict` reads audio files for a model whose input is samples, and prints each as it is heard.
    predicted = subprocess.run(
        [sys.executable, "-m", "zoo", "predict", "trigger_word", str(recording), str(tmp_path / "missing.wav")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    first = json.loads(predicted.stdout.splitlines()[0].split(" -> ", 1)[1])
    assert first["event_times"] == pytest.approx(row["detections_s"], abs=1e-4)
    assert first["num_events"] == len(first["event_times"]) and len(first["probabilities"]) == 10 * RATE // 1280
    last = predicted.stderr.strip().splitlines()[-1]
    assert predicted.returncode == 1 and last.startswith("trigger_word: ") and "not readable audio" in last


def _tflite_probabilities(path, samples, state_size):
    """The probabilities a `.tflite` export gives for `(1, n)` samples fed in 100-ms chunks from a zero state."""
    interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    inputs = {detail["name"]: detail["index"] for detail in interpreter.get_input_details()}
    outputs = interpreter.get_output_details()
    state, parts = np.zeros((1, state_size), np.float32), []
    for start in range(0, samples.shape[1], task.TFLITE_CHUNK_SAMPLES):
        interpreter.set_tensor(inputs["samples"], samples[:, start : start + task.TFLITE_CHUNK_SAMPLES])
        interpreter.set_tensor(inputs["state"], state)
        interpreter.invoke()
        values = [interpreter.get_tensor(detail["index"]) for detail in outputs]
        state = next(value for value in values if value.shape[-1] == state_size)
        parts.append(next(value for value in values if value is not state))
    return np.concatenate(parts, axis=1)


def test_speech_embedding_detector_converts_to_tflite_and_streams_alike(tmp_path):
    model = _small_detector("speech_embedding")
    path = tmp_path / "stream.tflite"
    path.write_bytes(task.tflite_stream(model))
    samples = np.random.default_rng(3).standard_normal((1, 20 * 1600)).astype(np.float32) * 0.2
    streamed = _tflite_probabilities(path, samples, model.state_size)
    np.testing.assert_allclose(streamed, model(samples).numpy(), atol=1e-5)


def test_tflite_export_streams_like_the_saved_model(tiny_run):
    workdir, _, model = tiny_run
    samples = np.random.default_rng(7).standard_normal((1, 20 * 1600)).astype(np.float32) * 0.2
    samples[0, 5] = np.nan
    streamed = _tflite_probabilities(workdir / "export" / "stream.tflite", samples, model.state_size)
    loaded = tf.saved_model.load(str(workdir / "export" / "saved_model"))
    expected = loaded.serve(samples=tf.constant(samples))["probabilities"].numpy()
    np.testing.assert_allclose(streamed, expected, atol=1e-5)
