"""The character language model task for the runner: strings in, log-probabilities or new strings out."""

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from data_pipelines import text
from tasks.char_lm import data as corpus
from tasks.char_lm.config import PRESETS, CharLmConfig
from tasks.char_lm.model import build_language_model
from zoo import metrics, ngram
from zoo.language_model import (
    SAMPLER_SPECS,
    SAMPLING_RANGES,
    LanguageModelData,
    LanguageModelTask,
    best_ngram_mixture,
)
from zoo.layers import NGramTable
from zoo.task import Evaluation, Pretraining

NOVELTY_SAMPLES = 1000
OUTSIDE_NGRAM_ORDERS = range(2, 9)  # as the baseline's
SAMPLE_SIGNATURE = [
    tf.TensorSpec([], tf.int32, name="num_samples"),
    SAMPLER_SPECS["temperature"],
    SAMPLER_SPECS["seed"],
    tf.TensorSpec([], tf.string, name="prefix"),
    SAMPLER_SPECS["top_k"],
    SAMPLER_SPECS["top_p"],
]


@dataclasses.dataclass
class CharLmData(LanguageModelData):
    vocabulary: Any = None  # the training characters
    pretraining_sequences: int = 0  # how many sequences `CharLmTask.pretraining` read
    outside_ngram_sequences: int = 0  # how many sequences the outside n-gram was trained on


def score_all(model, texts, batch_size=256):
    """Natural log P of each string (end included) and the characters scored, in input order."""
    outputs = text.map_in_length_order(
        lambda batch: dict(zip(("log_prob", "length"), model.score(tf.constant(batch)))), texts, batch_size
    )
    return outputs["log_prob"].astype(np.float64), outputs["length"]


def novelty(model, known, temperature=1.0, seed=0, count=NOVELTY_SAMPLES):
    """The share of `count` samples that are not in `known`, and a few of them."""
    samples = [s.decode("utf-8") for s in model.sample(count, temperature, seed)["text"].numpy()]
    return float(np.mean([sample not in known for sample in samples])), samples[:10]


class CharLmTask(LanguageModelTask):
    name = "char_lm"
    config_class = CharLmConfig
    presets = PRESETS

    @property
    def export_name(self):
        if self.config.model_name:
            return self.config.model_name
        return Path(self.config.text_file).stem if self.config.text_file else self.config.corpus

    def build_data(self):
        splits = corpus.make_splits(self.config)
        vocabulary = corpus.build_vocabulary(splits.train.texts)
        baseline = ngram.best_order(splits.train.texts, splits.validation.texts)
        return CharLmData.build(splits, corpus.make_dataset, vocabulary, self.config, baseline, vocabulary=vocabulary)

    def build_model(self, data):
        return build_language_model(self.config, data.vocabulary)

    def pretraining(self, data):
        if not (self.config.pretrain_corpus or self.config.pretrain_file):
            return None
        lines = corpus.pretraining_lines(self.config, data.splits, data.vocabulary)
        data.pretraining_sequences = len(lines.texts)
        return Pretraining(
            lambda: corpus.make_dataset(lines, data.vocabulary, self.config, True, self.config.pretrain_batch_size),
            self.config.pretrain_epochs,
            self.config.pretrain_learning_rate,
        )

    def inference_model(self, model, data):
        recurrent = super().inference_model(model, data)
        if not self.config.ngram_mixture:
            return recurrent
        token_ids = {**corpus.char_ids(data.vocabulary), data.baseline.end: corpus.END_ID}
        table = NGramTable.from_model(
            data.baseline, token_ids, text.UNKNOWN_ID, recurrent.vocab_size, corpus.END_ID, name="ngram"
        )
        mixing, weight, outside, outside_weight = best_ngram_mixture(
            recurrent,
            table,
            data.validation,
            outside_ngrams=self._outside_ngrams(data, token_ids, recurrent.vocab_size),
        )
        if not (weight or outside_weight):
            return recurrent
        return recurrent.with_ngram(table, weight, mixing, outside, outside_weight)

    def _outside_ngrams(self, data, token_ids, vocab_size):
        """The outside n-gram's candidate tables, one per order, each of at most `outside_ngram_contexts`
        contexts (its order is chosen on validation with the mixture, not alone: alone, no n-gram of other text
        predicts the corpus well)."""
        if not self.config.outside_ngram_file:
            return ()
        lines = corpus.outside_ngram_lines(self.config, data.splits, data.vocabulary)
        data.outside_ngram_sequences = len(lines.texts)
        return [
            NGramTable.from_model(
                ngram.KneserNey(order, end=data.baseline.end).fit(lines.texts),
                token_ids,
                text.UNKNOWN_ID,
                vocab_size,
                corpus.END_ID,
                max_contexts=self.config.outside_ngram_contexts,
                name="outside_ngram",
            )
            for order in OUTSIDE_NGRAM_ORDERS
        ]

    def evaluate(self, inference_model, data, split):
        texts = getattr(data.splits, split).texts
        model_bits = metrics.bits_per_token(*score_all(inference_model, texts))
        recurrent = inference_model.with_ngram(None, 0.0) if inference_model.ngram is not None else inference_model
        baseline_bits = metrics.bits_per_token(*data.baseline.score_all(texts))
        scores = {
            "bits_per_char": model_bits,
            "recurrent_bits_per_char": metrics.bits_per_token(*score_all(recurrent, texts)),
            "ngram_bits_per_char": baseline_bits,
            "ratio_to_ngram": model_bits / baseline_bits,
        }
        if split != "test":
            return Evaluation(scores)
        scores["novel_share"], samples = novelty(inference_model, set(data.splits.train.texts))
        details = {
            "ngram_weight": inference_model.ngram_weight,
            "ngram_mixing": inference_model.ngram_mixing,
            "outside_ngram_weight": inference_model.outside_ngram_weight,
            "outside_ngram_order": getattr(inference_model.outside_ngram, "order", None),
            "ngram_order": data.baseline.order,
            "ngram_validation_bits_per_char": {str(order): bits for order, bits in data.baseline_validation.items()},
            "samples_temperature_1": samples,
        }
        return Evaluation(scores, details)

    def endpoints(self, inference_model, data):
        def serve(strings):
            log_prob, length = inference_model.score(strings)
            return {"log_prob": log_prob, "bits_per_char": -log_prob / tf.cast(length, tf.float32) / math.log(2)}

        scoring_signature = [tf.TensorSpec([None], tf.string, name="strings")]
        # `score` is scoring's name in every language model's export (music's too); `serve` is the signature
        # every export has, for `zoo.load` and the server.
        return {
            "serve": (serve, scoring_signature),
            "score": (serve, scoring_signature),
            "sample": (inference_model.sample, SAMPLE_SIGNATURE),
        }

    def card(self, inference_model, data, test):
        if self.config.text_file:
            source = self.config.text_file
        elif self.config.corpus == "names":
            source = corpus.NAMES_SOURCE
        else:
            source = corpus.FILES[self.config.corpus]
        return {
            "description": f"character language model of {self.export_name}: scores strings, samples new ones",
            "data": {
                "source": source,
                "split": f"by {'stanza' if not self.config.text_file and self.config.corpus == 'shakespeare' else 'line'}"
                f", seed {corpus.SPLIT_SEED}; duplicate names kept once",
                "lowercase": self.config.lowercase,
                "vocabulary": "".join(data.vocabulary),
                **({"pretraining": self._pretraining_source(data)} if data.pretraining_sequences else {}),
            },
            "evaluation": "bits per character of this exported model on every held-out sequence, the end of "
            "each sequence counted as a character; beside it interpolated Kneser-Ney character n-grams "
            "(orders 2-8, the order chosen on validation) on the same split; the exported model mixes that "
            "n-gram into the recurrent model's next-character distribution at ngram_weight, as a weighted "
            "average (ngram_mixing linear) or a normalized weighted geometric mean (log_linear), the two "
            "chosen on validation among 0, 0.05, ..., 0.95 and the two mixings (0: the recurrent model "
            "alone), with the outside n-gram, where there is one, beside it at outside_ngram_weight (its "
            "order and weight chosen with them); recurrent_bits_per_char "
            "is the recurrent model alone; novel_share: of 1,000 samples at temperature 1.0 (seed 0), the "
            "share that is not a training sequence",
            "inputs": {
                "serve": "strings (batch,): any text; characters never seen in training score as the unknown one; "
                "a string over 20,000 characters is scored on its first 20,000",
                "score": "as serve",
                "sample": f"num_samples, temperature, seed, prefix (a string to continue), top_k, top_p; {SAMPLING_RANGES}",
            },
            "outputs": {
                "serve": "log_prob float32 (batch,): natural log P(string, then its end); bits_per_char",
                "score": "as serve",
                "sample": "text string (num_samples,): prefix + sampled continuation; log_prob",
            },
            # Two held-out sequences and one that should score badly in any corpus.
            "examples": [*data.splits.test.texts[:2], "qqqqxz"],
            "sample_examples": test.details["samples_temperature_1"],
            "ngram_weight": test.details["ngram_weight"],
            "ngram_mixing": test.details["ngram_mixing"],
            "ngram_order": test.details["ngram_order"],
            **(
                {
                    "outside_ngram": self._outside_ngram_source(data, inference_model.outside_ngram),
                    "outside_ngram_weight": test.details["outside_ngram_weight"],
                    "outside_ngram_order": test.details["outside_ngram_order"],
                }
                if inference_model.outside_ngram is not None
                else {}
            ),
            "ngram_validation_bits_per_char": test.details["ngram_validation_bits_per_char"],
        }

    def _outside_ngram_source(self, data, table):
        files = " and ".join(map(str, corpus.listed_files(self.config.outside_ngram_file)))
        return (
            f"interpolated Kneser-Ney, order {table.order}, of the {data.outside_ngram_sequences:,} lines of {files} "
            "written in the vocabulary's characters, none holding a validation or test sequence; its "
            f"{table.num_contexts:,} most frequent contexts (the others read their longest suffix among them)"
        )

    def _pretraining_source(self, data):
        sources = []
        if self.config.pretrain_corpus == "imdb":
            pieces = "clauses" if " " in data.vocabulary else "words"
            sources.append(f"{pieces} of the IMDB reviews (both official splits)")
        if self.config.pretrain_corpus == "latin":
            sources.append("the Latin lemmas of Debian's collatinus (vowel quantities removed)")
        sources += [f"the lines of {path}" for path in corpus.listed_files(self.config.pretrain_file)]
        return (
            f"first {self.config.pretrain_epochs} epochs on {data.pretraining_sequences:,} sequences: "
            f"{' and '.join(sources)}, written in the vocabulary's characters, none holding a validation or "
            "test sequence (tasks.char_lm.data.pretraining_lines); then the corpus itself"
        )
