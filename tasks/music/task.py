"""The music task for the runner: a condition and a primer in, melody events out; events in, their scores."""

import dataclasses
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from data_pipelines import midi, text
from tasks.music import data as corpus
from tasks.music import measures
from tasks.music.config import PRESETS, MusicConfig
from tasks.music.model import MAX_SCORED_EVENTS, build_melody_model
from zoo import ngram
from zoo.language_model import SAMPLER_SPECS, SAMPLING_RANGES, LanguageModelData, LanguageModelTask, target_scores
from zoo.task import Evaluation

NGRAM_ORDERS = range(2, 6)
SERVE_EVENTS = 128  # what `serve` generates per seed: eight 4/4 bars
GENERATED_EVENTS = 256  # each: sixteen 4/4 bars, compared with the held-out pieces' first 256 events
GENERATE_SIGNATURE = [
    tf.TensorSpec([], tf.int32, name="num_events"),
    *(SAMPLER_SPECS[name] for name in ("temperature", "top_k", "top_p", "seed")),
    tf.TensorSpec([None], tf.int32, name="primer"),
    tf.TensorSpec([], tf.string, name="condition"),
    tf.TensorSpec([], tf.int32, name="num_solos"),
]


@dataclasses.dataclass
class MusicData(LanguageModelData):
    conditions: Any = None  # condition names in id order, the corpus first


def ngram_sequences(rows):
    """Each piece's ids as the n-gram model reads them (the end is the n-gram's own), from `piece_ids` rows."""
    return [tuple(inputs[1:].tolist()) for inputs, _ in rows]


def score_pieces(model, rows, batch_size=32):
    """`(log_probs, lengths, correct)` per `piece_ids` row: natural log P(events, then the end), events scored
    (end included), and how many of them were the model's most likely next event.

    Each batch is one pass through time over its longest solo (up to ~3,000 events), so a few wide batches
    cost far less than many narrow ones: the 45 test solos take 20 s in batches of 32, 37 s in batches of 8."""

    def score(batch):
        inputs, targets = (
            keras.utils.pad_sequences([row[part] for row in batch], padding="post", value=corpus.PAD_ID)
            for part in (0, 1)
        )
        return dict(zip(("log_prob", "length", "correct"), target_scores(model(inputs), tf.constant(targets))))

    scores = text.map_in_length_order(score, rows, batch_size, length=lambda row: len(row[1]))
    return scores["log_prob"].astype(np.float64), scores["length"], scores["correct"]


def event_metrics(log_probs, lengths):
    """Negative log-likelihood per event (nats) and perplexity, over all the events of a split."""
    nll = -float(np.sum(log_probs)) / float(np.sum(lengths))
    return {"nll": nll, "perplexity": math.exp(nll)}


class MusicTask(LanguageModelTask):
    name = "music"
    config_class = MusicConfig
    presets = PRESETS

    @property
    def corpus_token(self):
        return Path(self.config.midi_dir).name if self.config.midi_dir else self.config.corpus

    @property
    def export_name(self):
        return "music" if self.corpus_token == "wjazzd" else f"music-{self.corpus_token}"

    def build_data(self):
        splits = corpus.make_splits(self.config)
        conditions = corpus.condition_vocabulary(splits.train, self.corpus_token)
        baseline = ngram.best_order(
            ngram_sequences(corpus.piece_ids(splits.train, conditions)),
            ngram_sequences(corpus.piece_ids(splits.validation, conditions)),
            NGRAM_ORDERS,
            end=corpus.END_ID,
        )
        return MusicData.build(splits, corpus.make_dataset, conditions, self.config, baseline, conditions=conditions)

    def build_model(self, data):
        return build_melody_model(self.config, data.conditions)

    def evaluate(self, inference_model, data, split):
        pieces = getattr(data.splits, split)
        rows = corpus.piece_ids(pieces, data.conditions)
        log_probs, lengths, correct = score_pieces(inference_model, rows)
        model = event_metrics(log_probs, lengths)
        baseline = event_metrics(*data.baseline.score_all(ngram_sequences(rows)))
        scores = {
            "nll": model["nll"],
            "perplexity": model["perplexity"],
            "accuracy": float(np.sum(correct) / np.sum(lengths)),
            "ngram_nll": baseline["nll"],
            "ngram_perplexity": baseline["perplexity"],
            "perplexity_ratio_to_ngram": model["perplexity"] / baseline["perplexity"],
        }
        details = {
            "events": int(np.sum(lengths)),
            "ngram_order": data.baseline.order,
            "ngram_validation_bits_per_event": {str(order): bits for order, bits in data.baseline_validation.items()},
        }
        if split == "test":
            return Evaluation(scores, {**details, "generation": self.generation_measures(inference_model, data)})
        return Evaluation(scores, details)

    def generation_measures(self, inference_model, data):
        """Overlap areas of the objective measures and copied runs, for the model's and the n-gram's
        generated melodies against the held-out pieces (and, for scale, the held-out pieces' own runs)."""
        rng, solos = np.random.default_rng(0), self.config.generated_solos
        real = [events[:GENERATED_EVENTS] for events in data.splits.test.events]
        generated = {
            "model": list(inference_model.generate(GENERATED_EVENTS, seed=0, num_solos=solos)["events"].numpy()),
            "ngram": [
                corpus.ids_to_events(data.baseline.sample(GENERATED_EVENTS, rng, stop_at_end=False)).numpy()
                for _ in range(solos)
            ],
            "held_out": real,
        }
        results = {"solos": solos, "events": GENERATED_EVENTS, "held_out_solos": len(real)}
        for name, melodies in generated.items():
            runs = measures.longest_copied_runs(melodies, data.splits.train.events)
            results[name] = {
                "longest_copied_run": {f"p{q}": float(np.percentile(runs, q)) for q in (50, 90, 100)},
            }
            # Real-to-real distances need two held-out pieces (the Metheny split holds one).
            if name != "held_out" and len(real) >= 2:
                results[name]["overlap_area"] = measures.overlap_areas(melodies, real)
        return results

    def endpoints(self, inference_model, data):
        def serve(seeds):
            def one(seed):
                return inference_model.generate(SERVE_EVENTS, seed=seed)["events"][0]

            return {"events": tf.map_fn(one, seeds, fn_output_signature=tf.TensorSpec([SERVE_EVENTS], tf.int32))}

        def score(events, lengths, conditions):
            log_prob, length = inference_model.score(events, lengths, conditions)
            return {"log_prob": log_prob, "nll": -log_prob / tf.cast(length, tf.float32)}

        return {
            "serve": (serve, [tf.TensorSpec([None], tf.int32, name="seeds")]),
            "generate": (inference_model.generate, GENERATE_SIGNATURE),
            "score": (
                score,
                [
                    tf.TensorSpec([None, None], tf.int32, name="events"),
                    tf.TensorSpec([None], tf.int32, name="lengths"),
                    tf.TensorSpec([None], tf.string, name="conditions"),
                ],
            ),
        }

    def card(self, inference_model, data, test):
        if self.config.midi_dir:
            source = self.config.midi_dir
        elif self.config.corpus == "folk":
            source = f"music21 corpus {corpus.FOLK_CORPUS} (O'Neill's Music of Ireland, public domain)"
        else:
            source = corpus.WJAZZD_FILE if self.config.corpus == "wjazzd" else corpus.METHENY_FILE
        return {
            "description": f"melody model of {self.corpus_token}: generates solos event by event, scores melodies",
            "data": {
                "source": source,
                "split": f"{'by time' if self.config.corpus == 'metheny' and not self.config.midi_dir else 'by piece'}"
                f", seed {corpus.SPLIT_SEED}",
                "events": f"MelodyRNN events on a sixteenth-note grid ({midi.STEPS_PER_BEAT} steps a beat): a MIDI "
                f"pitch starts a note, {midi.NOTE_OFF} ends it, {midi.HOLD} holds; silences cut to "
                f"{midi.MAX_REST_STEPS} steps; pitches folded into {corpus.MIN_PITCH}-{corpus.MAX_PITCH}",
                "conditions": data.conditions,
            },
            "evaluation": "per-event negative log-likelihood (nats), perplexity and next-event accuracy of this "
            "exported model on every held-out piece, whole, its end counted as an event; beside it interpolated "
            "Kneser-Ney n-grams over the same events (orders 2-5, the order chosen on validation), trained on "
            "the same pieces",
            "ngram_order": test.details["ngram_order"],
            "generation_measures": test.details["generation"],
            "generation_measures_how": f"{self.config.generated_solos} melodies of {GENERATED_EVENTS} events from the model "
            "(temperature 1, seed 0) and from the n-gram, against the first events of each held-out piece: "
            "overlap_area per feature (Yang & Lerch's measures; 1 alike, 0 nothing shared); longest_copied_run: "
            "percentiles of the most consecutive events shared with one training piece (held_out: the same for "
            "the real held-out pieces, for scale)",
            "tempo_bpm": self.config.tempo,
            "inputs": {
                "serve": f"seeds int32 (batch,): one {SERVE_EVENTS}-event melody per seed, temperature 1",
                "generate": "num_events, temperature, top_k (0: all), top_p (1: all), seed, primer (int32 events "
                "to continue; pitches outside the range fold by octaves), condition (a name in data.conditions; "
                f"unknown: the corpus), num_solos; {SAMPLING_RANGES}",
                "score": f"events int32 (batch, time <= {MAX_SCORED_EVENTS}), lengths (batch,) each in [0, time], "
                "conditions (batch,)",
            },
            "outputs": {
                "serve": f"events int32 (batch, {SERVE_EVENTS})",
                "generate": "events int32 (num_solos, len(primer) + num_events): the primer as read, then new events; "
                "log_prob of the new events",
                "score": "log_prob (batch,): natural log P(events, then the end); nll per event",
            },
            "examples": [0],  # a seed
        }
