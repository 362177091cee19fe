"""Train, evaluate and export the IMDB sentiment model: `python -m tasks.sentiment.train [flags]`."""

import json
import time

import numpy as np
import tensorflow as tf

from data_pipelines import text
from tasks.sentiment import data
from tasks.sentiment.config import PRESETS, SentimentConfig
from tasks.sentiment.model import build_classifier, build_end_to_end
from zoo import cli, export, training

MONITOR = "val_accuracy"
EXAMPLES = [
    "One of the best films I have seen in years: moving, funny and beautifully acted.",
    "A dull, predictable mess. I wanted my two hours back.",
    "The plot was thin, but the performances were wonderful and the ending made up for everything.",
]


def _serve_fn(end_to_end):
    labels = tf.constant(data.LABELS)

    def serve(reviews):
        probability = end_to_end(reviews)[:, 0]
        label = tf.gather(labels, tf.cast(probability >= 0.5, tf.int32))
        return {"probability": probability, "label": label}

    return serve


def evaluate_reviews(model, split, batch_size):
    """Accuracy and log loss of an end-to-end model on raw review strings.

    Reviews are batched in order of length so that batches carry little padding.
    """
    order = np.argsort([len(review) for review in split.texts], kind="stable")
    reviews = tf.data.Dataset.from_tensor_slices([split.texts[i] for i in order]).batch(batch_size)
    probabilities = np.empty(len(order), np.float64)
    probabilities[order] = model.predict(reviews, verbose=0)[:, 0]
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    loss = -np.mean(split.labels * np.log(clipped) + (1 - split.labels) * np.log(1 - clipped))
    return {"accuracy": float(np.mean((probabilities >= 0.5) == split.labels)), "loss": float(loss)}


def prepare_data(config):
    """The splits, the vectorizer adapted on train, and batched datasets for train, validation and test."""
    splits = data.make_splits(config)
    vectorizer = text.build_vectorizer(splits.train.texts, config.vocab_size)
    token_ids = {name: data.vectorize(split, vectorizer, config) for name, split in splits._asdict().items()}
    boundaries = text.length_bucket_boundaries(token_ids["train"].row_lengths().numpy(), config.num_buckets)
    datasets = {
        name: data.make_dataset(token_ids[name], split.labels, config, boundaries, training=name == "train")
        for name, split in splits._asdict().items()
    }
    return splits, vectorizer, datasets


def compile_classifier(config, strategy, train_data):
    """The classifier compiled under `strategy`; cosine decay, if on, spans every step of `train_data`."""
    with strategy.scope():
        classifier = build_classifier(config)
        classifier.compile(
            optimizer=training.optimizer_for(config, train_data), loss="binary_crossentropy", metrics=["accuracy"]
        )
    return classifier


def train_and_evaluate(config, workdir=None, callbacks=(), command=None):
    """Fits on IMDB train, selects on validation, evaluates on test, writes `metrics.json`, exports.

    Args:
        config: a `SentimentConfig`.
        workdir: run directory; defaults to `config.out_dir`.
        callbacks: extra Keras callbacks for `fit`.
        command: the command line recorded in the model card.

    Returns:
        The metrics dict written to `workdir/metrics.json`.
    """
    workdir = training.start_run(config, workdir)
    splits, vectorizer, datasets = prepare_data(config)
    strategy = training.get_strategy(config.strategy)
    classifier = compile_classifier(config, strategy, datasets["train"])
    started = time.time()
    history = training.fit(
        classifier, datasets["train"], datasets["validation"], config.epochs, workdir, MONITOR, config.resume, callbacks
    )
    training_time = time.time() - started

    validation = classifier.evaluate(datasets["validation"], return_dict=True, verbose=0)
    end_to_end = build_end_to_end(vectorizer, classifier, config)
    test = evaluate_reviews(end_to_end, splits.test, config.batch_size)
    metrics = {
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "validation_accuracy": validation["accuracy"],
        "test_examples": len(splits.test.labels),
        "train_examples": len(splits.train.labels),
        "epochs_run": len(history.epoch),
        "replicas": strategy.num_replicas_in_sync,
        "training_time_s": round(training_time, 1),
    }
    (workdir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    card = {
        "task": "sentiment",
        "description": "IMDB movie-review sentiment: review text in, P(positive) and label out",
        "data": {
            "name": "IMDB Large Movie Review Dataset v1.0 (Maas et al., 2011)",
            "train": f"official train split minus {config.validation_size} validation reviews (seed {data.SPLIT_SEED})",
            "test": f"official test split, {len(splits.test.labels)} reviews",
        },
        "test_metrics": {"accuracy": test["accuracy"], "loss": test["loss"]},
        "validation_accuracy": validation["accuracy"],
        "evaluation": "this exported model (float16 embedding tables) run on the raw text of every test "
        "review; accuracy of label = (probability >= 0.5); epoch selected by validation accuracy",
        "command": command or cli.command_line("tasks.sentiment.train"),
        "hyperparameters": config.to_dict(),
        "training_time_s": round(training_time, 1),
        "parameters": classifier.count_params(),
        "inputs": {"reviews": "string (batch,): raw review text, any length; HTML <br /> allowed"},
        "outputs": {"probability": "float32 (batch,): P(positive)", "label": "string (batch,): negative|positive"},
        "examples": EXAMPLES,
    }
    export.export_model(
        config.export_dir or workdir / "export",
        end_to_end,
        _serve_fn(end_to_end),
        [tf.TensorSpec([None], tf.string, name="reviews")],
        card,
        config,
    )
    return metrics


def main(argv=None):
    config = cli.parse_config(SentimentConfig, PRESETS, argv)
    metrics = train_and_evaluate(config, command=cli.command_line("tasks.sentiment.train", argv))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
