"""Training speed and accuracy of our sentiment pipeline against the keras-io reference, in one process.

    python -m benchmarks.sentiment [--epochs 2] [--data-dir DIR] [--max-examples N]

Reference (the keras-io bidirectional-LSTM IMDB example): 20k vocabulary, every review cut or
front-padded to 200 tokens with `pad_sequences` (keeping the last 200), no masking, no bucketing,
Embedding 128, two BiLSTM(64), batch 32, Adam 1e-3. Ours: the default `SentimentConfig`. Both read the
same reviews with the same standardization, train for the same number of epochs on the same train
split, and are scored on the full test split. Throughput is training examples per second of `fit`.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from data_pipelines.text import build_vectorizer  # noqa: E402
from tasks.sentiment import data  # noqa: E402
from tasks.sentiment.config import SentimentConfig  # noqa: E402
from tasks.sentiment.model import build_classifier  # noqa: E402
from zoo import training  # noqa: E402
from zoo.config import from_dict  # noqa: E402

REFERENCE_VOCAB, REFERENCE_LENGTH, REFERENCE_BATCH = 20000, 200, 32


def reference_datasets(splits, vectorizer):
    """The reference's inputs: our token ids front-padded / front-truncated to 200, batch 32."""

    def dataset(split, shuffle):
        ids = keras.utils.pad_sequences(vectorizer(tf.constant(split.texts)).to_list(), maxlen=REFERENCE_LENGTH)
        result = tf.data.Dataset.from_tensor_slices((ids, split.labels))
        if shuffle:
            result = result.shuffle(len(split.labels), seed=0, reshuffle_each_iteration=True)
        return result.batch(REFERENCE_BATCH).prefetch(tf.data.AUTOTUNE)

    return dataset(splits.train, True), dataset(splits.test, False)


def reference_model():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(REFERENCE_VOCAB, 128)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64))(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def measure(name, model, train, test, examples, epochs):
    started = time.time()
    model.fit(train, epochs=epochs, shuffle=False, verbose=2)  # both datasets shuffle themselves
    seconds = time.time() - started
    accuracy = model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
    result = {"name": name, "examples_per_s": examples * epochs / seconds, "fit_s": seconds, "test_accuracy": accuracy}
    print(json.dumps(result), flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data-dir")
    parser.add_argument("--max-examples", type=int, default=0)
    args = parser.parse_args(argv)

    config = from_dict(SentimentConfig, {"data_dir": args.data_dir, "max_examples": args.max_examples})
    training.set_seed(config.seed)
    splits = data.make_splits(config)
    vectorizer = build_vectorizer(splits.train.texts, config.vocab_size)
    datasets = data.make_datasets(splits, vectorizer, config, names=("train", "test"))
    examples = len(splits.train.labels)
    classifier = build_classifier(config)
    decay_steps = int(datasets["train"].cardinality()) * args.epochs
    classifier.compile(
        training.build_optimizer(config.optimizer, classifier, decay_steps), "binary_crossentropy", metrics=["accuracy"]
    )
    ours = measure("ours", classifier, datasets["train"], datasets["test"], examples, args.epochs)

    training.set_seed(config.seed)
    reference_train, reference_test = reference_datasets(splits, build_vectorizer(splits.train.texts, REFERENCE_VOCAB))
    reference = measure("reference", reference_model(), reference_train, reference_test, examples, args.epochs)

    print(
        json.dumps(
            {
                "epochs": args.epochs,
                "train_examples": examples,
                "test_examples": len(splits.test.labels),
                "speedup": ours["examples_per_s"] / reference["examples_per_s"],
                "accuracy_difference": ours["test_accuracy"] - reference["test_accuracy"],
            }
        )
    )


if __name__ == "__main__":
    main()
