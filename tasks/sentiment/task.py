"""The sentiment task for the runner: IMDB reviews in, P(positive) out."""

import dataclasses
from typing import Any

import numpy as np
import tensorflow as tf

from data_pipelines import text
from tasks.sentiment import data as imdb
from tasks.sentiment.config import PRESETS, SentimentConfig
from tasks.sentiment.model import build_classifier, build_end_to_end
from zoo.task import Evaluation, Task, TaskData

EXAMPLES = [
    "One of the best films I have seen in years: moving, funny and beautifully acted.",
    "A dull, predictable mess. I wanted my two hours back.",
    "The plot was thin, but the performances were wonderful and the ending made up for everything.",
]

# One-line inputs are scored on one sentence of each held-out review: a random one and the closing one.
SENTENCE_PICKS = ("random", "last")


@dataclasses.dataclass
class SentimentData(TaskData):
    vectorizer: Any = None  # the TextVectorization adapted on the train split


def evaluate_reviews(model, reviews, batch_size):
    """Accuracy and log loss of an end-to-end model on raw review strings.

    Reviews are batched in order of length so that batches carry little padding.
    """
    order = np.argsort([len(review) for review in reviews.texts], kind="stable")
    batches = tf.data.Dataset.from_tensor_slices([reviews.texts[i] for i in order]).batch(batch_size)
    probabilities = np.empty(len(order), np.float64)
    probabilities[order] = model.predict(batches, verbose=0)[:, 0]
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    loss = -np.mean(reviews.labels * np.log(clipped) + (1 - reviews.labels) * np.log(1 - clipped))
    return {"accuracy": float(np.mean((probabilities >= 0.5) == reviews.labels)), "loss": float(loss)}


class SentimentTask(Task):
    name = "sentiment"
    config_class = SentimentConfig
    presets = PRESETS
    monitor = "val_accuracy"

    def build_data(self):
        splits = imdb.make_splits(self.config)
        vectorizer = text.build_vectorizer(splits.train.texts, self.config.vocab_size)
        datasets = imdb.make_datasets(splits, vectorizer, self.config)
        return SentimentData(splits, datasets["train"], datasets["validation"], vectorizer)

    def build_model(self, data):
        return build_classifier(self.config)

    def loss(self, model):
        return "binary_crossentropy"

    def metrics(self):
        return ["accuracy"]

    def inference_model(self, model, data):
        return build_end_to_end(data.vectorizer, model, self.config)

    def evaluate(self, inference_model, data, split):
        reviews, batch_size = getattr(data.splits, split), self.config.data.batch_size
        metrics = evaluate_reviews(inference_model, reviews, batch_size)
        for pick in SENTENCE_PICKS:
            sentences = imdb.sentences(reviews, pick)
            metrics[f"{pick}_sentence_accuracy"] = evaluate_reviews(inference_model, sentences, batch_size)["accuracy"]
        return Evaluation(metrics)

    def endpoints(self, inference_model, data):
        labels = tf.constant(imdb.LABELS)

        def serve(reviews):
            probability = inference_model(reviews)[:, 0]
            label = tf.gather(labels, tf.cast(probability >= 0.5, tf.int32))
            return {"probability": probability, "label": label}

        return {"serve": (serve, [tf.TensorSpec([None], tf.string, name="reviews")])}

    def card(self, inference_model, data, test):
        return {
            "description": "IMDB movie-review sentiment: review text in, P(positive) and label out",
            "data": {
                "name": "IMDB Large Movie Review Dataset v1.0 (Maas et al., 2011)",
                "train": f"official train split minus {self.config.validation_size} validation reviews "
                f"(seed {imdb.SPLIT_SEED})",
                "test": "official test split",
            },
            "evaluation": "this exported model (float16 embedding tables) run on the raw text of every test "
            "review; accuracy of label = (probability >= 0.5); epoch selected by validation accuracy. "
            "random_sentence_accuracy and last_sentence_accuracy: the same on one sentence of each review "
            f"({imdb.SENTENCE_WORDS[0]}-{imdb.SENTENCE_WORDS[1]} words; a random one, seed {imdb.SPLIT_SEED}, and "
            "the closing one), labelled with its review's label, as a stand-in for one-line reviews",
            "inputs": {"reviews": "string (batch,): raw review text, any length; HTML <br /> allowed"},
            "outputs": {"probability": "float32 (batch,): P(positive)", "label": "string (batch,): negative|positive"},
            "examples": EXAMPLES,
        }
