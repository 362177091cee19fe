"""The translation task for the runner: strings in, translated strings out, with beam search in the export."""

import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from data_pipelines import text
from tasks.translation import data as pairs_data
from tasks.translation.config import PRESETS, TranslationConfig
from tasks.translation.model import build_translator
from zoo.task import Evaluation, Task, TaskData

EXAMPLES = {
    "dates": [
        "3rd of March 2021",
        "Tuesday, July 4, 1978",
        "le 14 juillet 1989",
        "31.12.1999",
        "domingo, 25 de diciembre de 2005",
    ],
    "spa": ["¿Dónde está la estación de tren?", "Me gusta mucho leer libros.", "Tom no sabe nadar."],
    "fra": ["Où est la gare ?", "J'aime beaucoup lire des livres.", "Tom ne sait pas nager."],
    "deu": ["Wo ist der Bahnhof?", "Ich lese sehr gerne Bücher.", "Tom kann nicht schwimmen."],
}
TRANSLATE_SIGNATURE = [
    tf.TensorSpec([None], tf.string, name="sentences"),
    tf.TensorSpec([], tf.int32, name="beam_width"),
    tf.TensorSpec([], tf.float32, name="alpha"),
]


def metric_name(config):
    """`exact_match` for dates, corpus `bleu` for sentence pairs."""
    return "exact_match" if config.dataset == "dates" else "bleu"


def score(config, hypotheses, references):
    """Exact-match accuracy (dates) or sacrebleu corpus BLEU (pairs) of `hypotheses` against `references`."""
    if config.dataset == "dates":
        return float(np.mean([h == r for h, r in zip(hypotheses, references)]))
    import sacrebleu

    return sacrebleu.corpus_bleu(hypotheses, [references]).score


def translate_all(translate_fn, sentences, beam_width, alpha, batch_size=256):
    """Translations and scores of a list of strings, through a `translate(sentences, beam_width, alpha)`."""
    beam_width, alpha = tf.constant(beam_width, tf.int32), tf.constant(alpha, tf.float32)
    outputs = text.map_in_length_order(
        lambda batch: translate_fn(tf.constant(batch), beam_width, alpha), sentences, batch_size
    )
    return [translation.decode("utf-8") for translation in outputs["translation"]], outputs["score"].tolist()


def translate_function(model):
    return tf.function(model.translate, input_signature=TRANSLATE_SIGNATURE)


@dataclasses.dataclass
class TranslationData(TaskData):
    source_vocabulary: list = None
    target_vocabulary: list = None


class TranslationTask(Task):
    name = "translation"
    config_class = TranslationConfig
    presets = PRESETS

    @property
    def monitor(self):
        return "val_" + metric_name(self.config)

    @property
    def export_name(self):
        return self.config.model_name

    def build_data(self):
        config = self.config
        splits = pairs_data.load_splits(config)
        source_vocabulary = pairs_data.build_vocabulary(splits.train.sources, config.level, True, config.min_count)
        target_vocabulary = pairs_data.build_vocabulary(splits.train.targets, config.level, False, config.min_count)
        datasets = pairs_data.make_datasets(splits, source_vocabulary, target_vocabulary, config)
        return TranslationData(splits, datasets["train"], datasets["validation"], source_vocabulary, target_vocabulary)

    def build_model(self, data):
        return build_translator(self.config, data.source_vocabulary, data.target_vocabulary)

    def loss(self, model):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=text.PAD_ID)

    def validation_scorer(self, model, data):
        """Greedy-decoding quality on the validation pairs (`exact_match` or `bleu`)."""
        translate, pairs = translate_function(model), data.splits.validation

        def scores():
            hypotheses, _ = translate_all(translate, pairs.sources, 1, 0.0)
            print(f"e.g. {pairs.sources[0]!r} -> {hypotheses[0]!r}")
            return {metric_name(self.config): score(self.config, hypotheses, pairs.targets)}

        return scores

    def evaluate(self, inference_model, data, split):
        """Greedy and beam-search quality; the decoding times go to the details."""
        pairs = getattr(data.splits, split)
        translate = translate_function(inference_model)
        metric, metrics, details = metric_name(self.config), {}, {}
        beam = self.config.beam_width
        for name, beam_width, alpha in (("greedy", 1, 0.0), (f"beam{beam}", beam, self.config.length_alpha)):
            started = time.time()
            hypotheses, _ = translate_all(translate, pairs.sources, beam_width, alpha)
            metrics[f"{metric}_{name}"] = score(self.config, hypotheses, pairs.targets)
            details[f"decode_time_{name}_s"] = round(time.time() - started, 1)
        return Evaluation(metrics, details)

    def endpoints(self, inference_model, data):
        config = self.config

        def serve(sentences):
            return inference_model.translate(sentences, config.beam_width, config.length_alpha)

        def translate(sentences, beam_width, alpha):
            return inference_model.translate(sentences, beam_width, alpha)

        def attention(sentences, beam_width, alpha):
            return inference_model.translate_with_attention(sentences, beam_width, alpha)

        return {
            "serve": (serve, TRANSLATE_SIGNATURE[:1]),
            "translate": (translate, TRANSLATE_SIGNATURE),
            "attention": (attention, TRANSLATE_SIGNATURE),
        }

    def card(self, inference_model, data, test):
        config = self.config
        dates = config.dataset == "dates"
        return {
            "description": (
                "Human-readable dates in 8 locales -> ISO YYYY-MM-DD (character level)"
                if dates
                else f"{config.language} -> English sentence translation (Anki / Tatoeba pairs, word level)"
            ),
            "data": self._data_card(),
            "evaluation": (
                "exact-match accuracy of the whole ISO string on the held-out dates"
                if dates
                else "sacrebleu corpus BLEU (13a tokenization, case-sensitive, one reference per pair) on the test pairs"
            )
            + f"; greedy and beam search (width {config.beam_width}, length alpha {config.length_alpha})",
            "source_vocab_size": len(data.source_vocabulary) + 2,
            "target_vocab_size": len(data.target_vocabulary) + 2 + len(pairs_data.SPECIAL_TARGET_TOKENS),
            "inputs": {"sentences": "string (batch,)"},
            "outputs": {
                "translation": "string (batch,): the best beam's text; an input without tokens gives ''",
                "score": "float (batch,): its log P(translation | input) / length ** alpha (end token counted)",
            },
            "endpoints": {
                "serve": f"sentences -> outputs, beam width {config.beam_width}, alpha {config.length_alpha}",
                "translate": "sentences, beam_width (int32 scalar, 1 = greedy), alpha (float32 scalar) -> outputs",
                "attention": "as translate, plus source_tokens (batch, source_time) and output_tokens (batch, "
                "target_time, ending with </s>), padded with '', and attention (batch, target_time, source_time): "
                "the weights each output token was predicted with",
            },
            "keras_model": "model.keras is the Translator (tasks.translation.model): translate(texts, beam_width, "
            "alpha), teacher_forced(...) for attention weights, sequence_scores(...) for error analysis",
            "examples": EXAMPLES["dates" if dates else config.language],
        }

    def _data_card(self):
        config = self.config
        if config.dataset == "dates":
            return {
                "name": "generated dates (tasks/translation/dates.py), 1900-01-01 to 2099-12-31, 8 Babel locales",
                "train": f"seed {config.seed}",
                "validation": f"seed {config.seed + 1}, inputs absent from train",
                "test": f"seed {config.seed + 2}, inputs absent from train and validation",
            }
        return {
            "name": f"Anki / Tatoeba {config.language}-eng pairs (manythings.org, CC-BY 2.0 FR)",
            "split": f"deterministic, seed {config.seed}, grouped by source sentence (case and punctuation ignored): "
            "no test or validation source occurs in train",
        }
