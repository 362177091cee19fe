"""The NER task for the runner: CoNLL-2003 sentences in, tokens, tags and entity spans out."""

import dataclasses
import weakref

import tensorflow as tf

from data_pipelines import tagging, text, words
from tasks.ner import data as conll
from tasks.ner.config import PRESETS, NerConfig
from tasks.ner.model import build_tagger, extend_vocabulary, tagger_loss
from zoo import metrics, word_vectors
from zoo.task import Evaluation, Task, TaskData

MONITOR = "val_f1"
MAX_TOKENS = 1_000  # CoNLL-2003's longest sentence has 124
EXAMPLES = [
    "Yesterday, Harry Potter met Hermione Granger in London.",
    "The European Commission said on Thursday it disagreed with German advice to consumers.",
    "Shares of Apple rose 3% after Tim Cook spoke at the Nasdaq conference in New York.",
]


@dataclasses.dataclass
class NerData(TaskData):
    vocabulary: list = None  # normalized train words, most frequent first
    tags: list = None  # tag names, in the configured scheme
    boundaries: list = None  # sentence-length bucket boundaries


# One traced inference function per tagger: validation after every epoch and each evaluation then reuse one
# graph instead of tracing the tagger (seconds each time) for every call and batch shape.
_TAGGING_FUNCTIONS = weakref.WeakKeyDictionary()


def _tagging_function(tagger):
    if tagger not in _TAGGING_FUNCTIONS:
        _TAGGING_FUNCTIONS[tagger] = tf.function(
            lambda tokens: tagger(tokens, training=False), input_signature=[tf.TensorSpec([None, None], tf.string)]
        )
    return _TAGGING_FUNCTIONS[tagger]


def predict_tags(tagger, dataset, tags):
    """Gold and predicted tag names of every sentence of a `(tokens, tag ids)` dataset.

    Returns:
        `(gold, predicted)`: lists of sentences, each a list of tag names.
    """
    run = _tagging_function(tagger)
    gold, predicted = [], []
    for tokens, tag_ids in dataset:
        lengths = tf.reduce_sum(tf.cast(tokens != "", tf.int32), axis=1).numpy()
        predicted_ids = run(tokens).numpy()
        for row, length in enumerate(lengths):
            gold.append([tags[i] for i in tag_ids[row, :length].numpy()])
            predicted.append([tags[i] for i in predicted_ids[row, :length]])
    return gold, predicted


class NerTask(Task):
    name = "ner"
    config_class = NerConfig
    presets = PRESETS
    monitor = MONITOR
    word_vectors_card = None  # how the word vectors were made, once build_model has read them

    def build_data(self):
        splits = conll.make_splits(self.config)
        boundaries = conll.length_boundaries(splits.train, self.config)
        train, validation = (
            conll.make_dataset(sentences, self.config, boundaries, training=sentences is splits.train)
            for sentences in (splits.train, splits.validation)
        )
        vocabulary = conll.build_vocabulary(splits.train, self.config.min_count)
        return NerData(splits, train, validation, vocabulary, conll.tag_names(self.config), boundaries)

    def build_model(self, data):
        # The vectors are read here, not with the data: scoring or re-exporting a trained model needs only its
        # own vocabulary and weights, not the vectors file it started from.
        vocabulary, vectors = data.vocabulary, None
        if self.config.word_vectors:
            vectors, made = word_vectors.load(self.config.word_vectors)
            vocabulary = extend_vocabulary(vocabulary, vectors, self.config.max_vector_words)
            self.word_vectors_card = {
                "file": self.config.word_vectors,
                "words": len(vectors.words),
                "vocabulary_words_with_a_vector": len(set(vectors.words).intersection(vocabulary)),
                "words_added_to_the_train_vocabulary": len(vocabulary) - len(data.vocabulary),
                **made,
            }
        trainer, self.tagger = build_tagger(self.config, vocabulary, len(data.tags), vectors)
        return trainer

    def loss(self, model):
        return tagger_loss(self.config, self.tagger)

    def validation_scorer(self, model, data):
        """Entity-level micro precision, recall and F1 (conlleval rules) on the validation sentences."""

        def scores():
            micro = metrics.entity_scores(*predict_tags(self.tagger, data.validation, data.tags))["micro"]
            return {name: micro[name] for name in ("precision", "recall", "f1")}

        return scores

    def inference_model(self, model, data):
        # The tagger shares the trainer's layers and was never compiled: it holds no optimizer state.
        return self.tagger

    def evaluate(self, inference_model, data, split):
        sentences = getattr(data.splits, split)
        dataset = conll.make_dataset(sentences, self.config, data.boundaries, training=False)
        scores = metrics.entity_scores(*predict_tags(inference_model, dataset, data.tags))
        micro = scores["micro"]
        return Evaluation(
            {"f1": micro["f1"], "precision": micro["precision"], "recall": micro["recall"]},
            {"entities": micro["support"], "per_type": scores},
        )

    def endpoints(self, inference_model, data):
        return {
            "serve": (serve_function(inference_model, data.tags), [tf.TensorSpec([None], tf.string, name="sentences")])
        }

    def card(self, inference_model, data, test):
        added_words = (self.word_vectors_card or {}).get("words_added_to_the_train_vocabulary", 0)
        return {
            "description": "CoNLL-2003 English named entities (PER, LOC, ORG, MISC): sentences in, tokens, "
            "IOB2 tags and entity spans out",
            "data": {
                "name": "CoNLL-2003 English NER (Tjong Kim Sang and De Meulder, 2003)",
                "train": "eng.train",
                "validation": "eng.testa (epoch selection)",
                "test": f"eng.testb, {test.details['entities']} entities",
            },
            "test_per_type": test.details["per_type"],
            "evaluation": "entity-level micro P/R/F1 by the conlleval rules (an entity is correct when its type, "
            "first and last token match) on the gold CoNLL tokenization, with the exported tagger; no embeddings "
            "or weights from outside the project (word vectors, where used, are learned by tasks.ner.word_vectors "
            "from the project's own text); epoch selected by validation F1",
            "tag_scheme": self.config.tag_scheme,
            "vocab_size": len(data.vocabulary) + 2 + added_words,
            "inputs": {
                "sentences": "string (batch,): raw sentences, tokenized inside as CoNLL-2003 was "
                f"(see data_pipelines.words.split_words); tokens past the first {MAX_TOKENS:,} are left out"
            },
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
            "tags": data.tags,
            "examples": EXAMPLES,
            **({"word_vectors": self.word_vectors_card} if self.word_vectors_card else {}),
        }


def serve_function(tagger, tags):
    """Raw sentences -> tokens, IOB2 tags and entity spans, with character offsets into the input.

    A sentence is tagged on its first `MAX_TOKENS` tokens, which bounds the time of one call."""
    type_names = tf.constant(tagging.entity_types(tags))

    def no_rows():
        # A batch of no sentences answers with no rows: the tagger's padding cannot agree on a width for none.
        text_rows, count_rows = tf.zeros([0, 0], tf.string), tf.zeros([0], tf.int64)
        return {
            "tokens": text_rows,
            "tags": text_rows,
            "num_tokens": count_rows,
            "entity_text": text_rows,
            "entity_type": text_rows,
            "entity_start": tf.zeros([0, 0], tf.int64),
            "entity_end": tf.zeros([0, 0], tf.int64),
            "num_entities": count_rows,
        }

    def serve(sentences):
        return tf.cond(tf.size(sentences) > 0, lambda: tag(sentences), no_rows)

    def tag(sentences):
        sentences = words.valid_utf8(sentences)
        tokens, starts, ends = (part[:, :MAX_TOKENS] for part in words.split_words(sentences))
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
