"""Train, evaluate and export a translation model.

    python -m tasks.translation.train --preset dates        # human-readable dates -> ISO dates
    python -m tasks.translation.train [--language spa]      # Anki sentence pairs -> English
"""

import json
import time

import keras
import numpy as np
import tensorflow as tf

from data_pipelines import text
from tasks.translation import data
from tasks.translation.config import PRESETS, TranslationConfig
from tasks.translation.model import Translator, build_translator
from zoo import cli, export, training

EXAMPLES = {
    "dates": ["3rd of March 2021", "Tuesday, July 4, 1978", "le 14 juillet 1989", "31.12.1999",
              "domingo, 25 de diciembre de 2005"],
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
    translations, scores = [], []
    # Sorting by length keeps batches tight; the result comes back in input order.
    order = np.argsort([len(sentence) for sentence in sentences], kind="stable")
    for start in range(0, len(order), batch_size):
        batch = [sentences[i] for i in order[start : start + batch_size]]
        result = translate_fn(tf.constant(batch), tf.constant(beam_width, tf.int32), tf.constant(alpha, tf.float32))
        translations += [t.decode("utf-8") for t in result["translation"].numpy()]
        scores += result["score"].numpy().tolist()
    restored = np.empty(len(order), dtype=object)
    restored[order] = translations
    restored_scores = np.empty(len(order))
    restored_scores[order] = scores
    return list(restored), list(restored_scores)


def translate_function(model):
    return tf.function(model.translate, input_signature=TRANSLATE_SIGNATURE)


class ValidationQuality(keras.callbacks.Callback):
    """Adds greedy-decoding quality on the validation pairs to the logs (`val_exact_match` or `val_bleu`)."""

    def __init__(self, config, model, sentences, references):
        super().__init__()
        self.config, self.sentences, self.references = config, sentences, references
        self.translate = translate_function(model)
        self.name = "val_" + metric_name(config)

    def on_epoch_end(self, epoch, logs=None):
        hypotheses, _ = translate_all(self.translate, self.sentences, 1, 0.0)
        logs[self.name] = score(self.config, hypotheses, self.references)
        print(f"epoch {epoch + 1}: {self.name} {logs[self.name]:.4f}; e.g. {self.sentences[0]!r} -> {hypotheses[0]!r}")


def prepare(config):
    """The raw splits, a new `Translator` with vocabularies from train, and the batched datasets."""
    splits = data.load_splits(config)
    train_sources, train_targets = splits["train"]
    source_vocabulary = data.build_vocabulary(train_sources, config.level, True, config.min_count)
    target_vocabulary = data.build_vocabulary(train_targets, config.level, False, config.min_count)
    model = build_translator(config, source_vocabulary, target_vocabulary)
    ids = {name: (model.source_ids(tf.constant(s)), model.target_ids(tf.constant(t)))
           for name, (s, t) in splits.items() if name != "test"}
    lengths = tf.reduce_sum(tf.cast(ids["train"][0] != data.MASK_ID, tf.int32), axis=1).numpy()
    boundaries = text.length_bucket_boundaries(lengths, config.num_buckets)
    datasets = {
        name: data.make_dataset(_ragged(source), target, config, boundaries, training=name == "train")
        for name, (source, target) in ids.items()
    }
    return splits, model, datasets


def _ragged(padded_ids):
    return tf.RaggedTensor.from_tensor(padded_ids, padding=data.MASK_ID)


def _serve_fns(model, config):
    def translate(sentences, beam_width, alpha):
        return model.translate(sentences, beam_width, alpha)

    def serve(sentences):
        return model.translate(sentences, config.beam_width, config.length_alpha)

    return serve, translate


def train_and_evaluate(config, workdir=None, callbacks=(), command=None):
    """Fits with teacher forcing, selects the epoch on validation quality, scores test with greedy and
    beam search, writes `metrics.json` and exports.

    Args:
        config: a `TranslationConfig`.
        workdir: run directory; defaults to `config.out_dir`.
        callbacks: extra Keras callbacks for `fit`.
        command: the command line recorded in the model card.

    Returns:
        The metrics dict written to `workdir/metrics.json`.
    """
    workdir = training.start_run(config, workdir)
    strategy = training.get_strategy(config.strategy)
    with strategy.scope():
        splits, model, datasets = prepare(config)
        model.compile(
            optimizer=training.optimizer_for(config, datasets["train"]),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=data.MASK_ID),
        )
    metric = metric_name(config)
    started = time.time()
    history = training.fit(
        model,
        datasets["train"],
        datasets["validation"],
        config.epochs,
        workdir,
        f"val_{metric}",
        config.resume,
        callbacks,
        validation_metrics=[ValidationQuality(config, model, *splits["validation"])],
    )
    training_time = time.time() - started

    translate = translate_function(model)
    test_sources, test_references = splits["test"]
    results = {}
    for name, beam_width, alpha in (("greedy", 1, 0.0), (f"beam{config.beam_width}", config.beam_width,
                                                          config.length_alpha)):
        started = time.time()
        hypotheses, _ = translate_all(translate, test_sources, beam_width, alpha)
        results[f"test_{metric}_{name}"] = score(config, hypotheses, test_references)
        results[f"test_decode_time_{name}_s"] = round(time.time() - started, 1)
    validation_hypotheses, _ = translate_all(translate, splits["validation"][0], 1, 0.0)
    result = dict(
        results,
        **{
            f"validation_{metric}_greedy": score(config, validation_hypotheses, splits["validation"][1]),
            "test_size": len(test_sources),
            "train_size": len(splits["train"][0]),
            "epochs_run": len(history.epoch),
            "replicas": strategy.num_replicas_in_sync,
            "training_time_s": round(training_time, 1),
        },
    )
    (workdir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")

    examples = EXAMPLES["dates" if config.dataset == "dates" else config.language]
    card = {
        "task": "translation",
        "description": (
            "Human-readable dates in 8 locales -> ISO YYYY-MM-DD (character level)" if config.dataset == "dates"
            else f"{config.language} -> English sentence translation (Anki / Tatoeba pairs, word level)"
        ),
        "data": _data_card(config, splits),
        "test_metrics": {key[len("test_"):]: value for key, value in results.items() if "decode_time" not in key},
        "evaluation": (
            "exact-match accuracy of the whole ISO string on the held-out dates" if config.dataset == "dates"
            else "sacrebleu corpus BLEU (13a tokenization, case-sensitive, one reference per pair) on the test pairs"
        ) + f"; greedy and beam search (width {config.beam_width}, length alpha {config.length_alpha})",
        "validation": {f"{metric}_greedy": result[f"validation_{metric}_greedy"]},
        "command": command or cli.command_line("tasks.translation.train"),
        "hyperparameters": config.to_dict(),
        "source_vocabulary_size": len(model.source_vocabulary) + 2,
        "target_vocabulary_size": model.target_size,
        "training_time_s": round(training_time, 1),
        "parameters": model.count_params(),
        "inputs": {"sentences": "string (batch,)"},
        "outputs": {
            "translation": "string (batch,): the best beam's text; an input without tokens gives ''",
            "score": "float (batch,): its log P(translation | input) / length ** alpha (end token counted)",
        },
        "endpoints": {
            "serve": f"sentences -> outputs, beam width {config.beam_width}, alpha {config.length_alpha}",
            "translate": "sentences, beam_width (int32 scalar, 1 = greedy), alpha (float32 scalar) -> outputs",
        },
        "keras_model": "model.keras is the Translator (tasks.translation.model): translate(texts, beam_width, "
        "alpha), teacher_forced(...) for attention weights, sequence_scores(...) for error analysis",
        "examples": examples,
    }
    export_translator(model, config, card, config.export_dir or workdir / "export")
    return result


def export_translator(model, config, card, target):
    """Exports an uncompiled copy of `model` (the optimizer's moments and moving averages would
    quadruple the files) with the `serve` and `translate` endpoints."""
    inference = Translator.from_config(model.get_config())
    inference.set_weights(model.get_weights())
    serve, translate_options = _serve_fns(inference, config)
    export.export_model(target, inference, serve, TRANSLATE_SIGNATURE[:1], card, config,
                        extra_endpoints={"translate": (translate_options, TRANSLATE_SIGNATURE)})


def _data_card(config, splits):
    sizes = {name: len(pairs[0]) for name, pairs in splits.items()}
    if config.dataset == "dates":
        return {
            "name": "generated dates (tasks/translation/dates.py), 1900-01-01 to 2099-12-31, 8 Babel locales",
            "train": f"{sizes['train']} dates, seed {config.seed}",
            "validation": f"{sizes['validation']} dates, seed {config.seed + 1}, inputs absent from train",
            "test": f"{sizes['test']} dates, seed {config.seed + 2}, inputs absent from train and validation",
        }
    return {
        "name": f"Anki / Tatoeba {config.language}-eng pairs (manythings.org, CC-BY 2.0 FR)",
        "split": f"deterministic, seed {config.seed}, grouped by source sentence (case and punctuation ignored): "
        "no test or validation source occurs in train",
        "train": f"{sizes['train']} pairs",
        "validation": f"{sizes['validation']} pairs (epoch selection)",
        "test": f"{sizes['test']} pairs",
    }


def main(argv=None):
    config = cli.parse_config(TranslationConfig, PRESETS, argv)
    result = train_and_evaluate(config, command=cli.command_line("tasks.translation.train", argv))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
