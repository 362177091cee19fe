"""Train, evaluate and export the CoNLL-2003 NER tagger: `python -m tasks.ner.train [flags]`."""

import json
import time

import keras
import tensorflow as tf

from data_pipelines import tagging, text, words
from tasks.ner import data
from tasks.ner.config import PRESETS, NerConfig
from tasks.ner.model import build_tagger, tagger_loss
from zoo import cli, export, metrics, training

MONITOR = "val_f1"
EXAMPLES = [
    "Yesterday, Harry Potter met Hermione Granger in London.",
    "The European Commission said on Thursday it disagreed with German advice to consumers.",
    "Shares of Apple rose 3% after Tim Cook spoke at the Nasdaq conference in New York.",
]


def predict_tags(tagger, dataset, tags):
    """Gold and predicted tag names of every sentence of a `(tokens, tag ids)` dataset.

    Returns:
        `(gold, predicted)`: lists of sentences, each a list of tag names.
    """
    run = tf.function(lambda tokens: tagger(tokens, training=False), reduce_retracing=True)
    gold, predicted = [], []
    for tokens, tag_ids in dataset:
        lengths = tf.reduce_sum(tf.cast(tokens != "", tf.int32), axis=1).numpy()
        predicted_ids = run(tokens).numpy()
        for row, length in enumerate(lengths):
            gold.append([tags[i] for i in tag_ids[row, :length].numpy()])
            predicted.append([tags[i] for i in predicted_ids[row, :length]])
    return gold, predicted


class EntityF1(keras.callbacks.Callback):
    """Adds the validation split's entity-level micro F1 (conlleval rules) to the logs as `val_f1`."""

    def __init__(self, tagger, dataset, tags):
        super().__init__()
        self.tagger, self.dataset, self.tags = tagger, dataset, tags

    def on_epoch_end(self, epoch, logs=None):
        scores = metrics.entity_scores(*predict_tags(self.tagger, self.dataset, self.tags))
        logs[MONITOR] = scores["micro"]["f1"]
        print(f"epoch {epoch + 1}: {MONITOR} {logs[MONITOR]:.4f}")


def _serve_fn(tagger, tags):
    """Raw sentences -> tokens, IOB2 tags and entity spans, with character offsets into the input."""
    type_names = tf.constant(tagging.entity_types(tags))

    def serve(sentences):
        sentences = words.valid_utf8(sentences)
        tokens, starts, ends = words.split_words(sentences)
        lengths = tokens.row_lengths()
        tag_ids = tagger(text.to_padded(tokens, ""))
        types, firsts, lasts = tagging.entity_bounds(tag_ids, lengths, tags)
        row_offsets = tf.gather(starts.row_starts(), firsts.value_rowids())
        entity_starts = firsts.with_flat_values(tf.gather(starts.values, firsts.values + row_offsets))
        entity_ends = lasts.with_flat_values(tf.gather(ends.values, lasts.values + row_offsets))
        return {
            "tokens": tokens.to_tensor(""),
            "tags": tagging.iob2_tags(tag_ids, lengths, tags),
            "num_tokens": lengths,
            "entity_text": words.substrings(sentences, entity_starts, entity_ends).to_tensor(""),
            "entity_type": tf.gather(type_names, types).to_tensor(""),
            "entity_start": entity_starts.to_tensor(-1),
            "entity_end": entity_ends.to_tensor(-1),
            "num_entities": types.row_lengths(),
        }

    return serve


def prepare_data(config):
    """The splits, the word vocabulary, and batched datasets for train, validation and test."""
    splits = data.make_splits(config)
    vocabulary = data.build_vocabulary(splits["train"], config.min_word_count)
    boundaries = data.length_boundaries(splits["train"], config)
    datasets = {
        name: data.make_dataset(sentences, config, boundaries, training=name == "train")
        for name, sentences in splits.items()
    }
    return splits, vocabulary, datasets


def train_and_evaluate(config, workdir=None, callbacks=(), command=None):
    """Fits on CoNLL-2003 train, selects the epoch on valid F1, scores test, writes `metrics.json`, exports.

    Args:
        config: a `NerConfig`.
        workdir: run directory; defaults to `config.out_dir`.
        callbacks: extra Keras callbacks for `fit`.
        command: the command line recorded in the model card.

    Returns:
        The metrics dict written to `workdir/metrics.json`.
    """
    workdir = training.start_run(config, workdir)
    splits, vocabulary, datasets = prepare_data(config)
    tags = data.tag_names(config)
    strategy = training.get_strategy(config.strategy)
    with strategy.scope():
        trainer, tagger = build_tagger(config, vocabulary, len(tags))
        trainer.compile(optimizer=training.optimizer_for(config, datasets["train"]), loss=tagger_loss(config, tagger))
    started = time.time()
    history = training.fit(
        trainer,
        datasets["train"],
        datasets["validation"],
        config.epochs,
        workdir,
        MONITOR,
        config.resume,
        callbacks,
        validation_metrics=[EntityF1(tagger, datasets["validation"], tags)],
    )
    training_time = time.time() - started

    validation = metrics.entity_scores(*predict_tags(tagger, datasets["validation"], tags))
    test = metrics.entity_scores(*predict_tags(tagger, datasets["test"], tags))
    result = {
        "test_f1": test["micro"]["f1"],
        "test_precision": test["micro"]["precision"],
        "test_recall": test["micro"]["recall"],
        "validation_f1": validation["micro"]["f1"],
        "test_sentences": len(splits["test"].tokens),
        "test_entities": test["micro"]["support"],
        "epochs_run": len(history.epoch),
        "replicas": strategy.num_replicas_in_sync,
        "training_time_s": round(training_time, 1),
        "test_per_type": test,
    }
    (workdir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")

    card = {
        "task": "ner",
        "description": "CoNLL-2003 English named entities (PER, LOC, ORG, MISC): sentences in, tokens, "
        "IOB2 tags and entity spans out",
        "data": {
            "name": "CoNLL-2003 English NER (Tjong Kim Sang and De Meulder, 2003)",
            "train": f"eng.train, {len(splits['train'].tokens)} sentences",
            "validation": f"eng.testa, {len(splits['validation'].tokens)} sentences (epoch selection)",
            "test": f"eng.testb, {len(splits['test'].tokens)} sentences, {test['micro']['support']} entities",
        },
        "test_metrics": {"f1": test["micro"]["f1"], "precision": test["micro"]["precision"],
                         "recall": test["micro"]["recall"]},
        "test_per_type": test,
        "validation_f1": validation["micro"]["f1"],
        "evaluation": "entity-level micro P/R/F1 by the conlleval rules (an entity is correct when its type, "
        "first and last token match) on the gold CoNLL tokenization, with the exported tagger; no external "
        "embeddings or pretrained weights; epoch selected by validation F1",
        "command": command or cli.command_line("tasks.ner.train"),
        "hyperparameters": config.to_dict(),
        "tag_scheme": config.tag_scheme,
        "vocabulary_size": len(vocabulary),
        "training_time_s": round(training_time, 1),
        "parameters": tagger.count_params(),
        "inputs": {"sentences": "string (batch,): raw sentences, tokenized inside as CoNLL-2003 was "
                   "(see data_pipelines.words.split_words)"},
        "outputs": {
            "tokens, tags": "string (batch, tokens): the tokens and their IOB2 tags; num_tokens (batch,)",
            "entity_text, entity_type": "string (batch, entities); num_entities (batch,)",
            "entity_start, entity_end": "int64 (batch, entities): character offsets [start, end) in the "
            "sentence (Unicode code points)",
        },
        "sequence_outputs": {
            "num_tokens": ["tokens", "tags"],
            "num_entities": ["entity_text", "entity_type", "entity_start", "entity_end"],
        },
        "keras_model": "model.keras is the tagger on pre-tokenized input: token strings (batch, time), "
        "right-padded with '', to tag ids into `tags`",
        "tags": tags,
        "examples": EXAMPLES,
    }
    export.export_model(
        config.export_dir or workdir / "export",
        tagger,
        _serve_fn(tagger, tags),
        [tf.TensorSpec([None], tf.string, name="sentences")],
        card,
        config,
    )
    return result


def main(argv=None):
    config = cli.parse_config(NerConfig, PRESETS, argv)
    result = train_and_evaluate(config, command=cli.command_line("tasks.ner.train", argv))
    print(json.dumps({key: value for key, value in result.items() if key != "test_per_type"}, indent=2))


if __name__ == "__main__":
    main()
