"""CoNLL-2003 English NER (train 14,041 / valid 3,250 / test 3,453 sentences) as tf.data pipelines.

Local copy: `conll2003/{train,valid,test}.txt` (columns `token POS chunk NER`, IOB1 tags) under
`--data-dir` or `$ZOO_DATA_DIR`; otherwise tensorflow-datasets' `conll2003`. Tags are re-encoded to
the configured scheme (BIOES or IOB2); entities, and so every score, are the same in all schemes.
"""

from collections import Counter
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from data_pipelines import sources, tagging, text, words
from data_pipelines.splits import Splits

FILES = {"train": "conll2003/train.txt", "validation": "conll2003/valid.txt", "test": "conll2003/test.txt"}
# tensorflow-datasets names the validation split (eng.testa) `dev`.
TFDS_SPLITS = ("train", "dev", "test")
ENTITY_TYPES = ("LOC", "MISC", "ORG", "PER")


class Sentences(NamedTuple):
    tokens: list  # of lists of token strings
    tags: list  # of lists of tag strings, in the scheme of the source


def _read_tfds(split, missing_message):
    dataset = sources.load_tfds("conll2003", split, missing_message)
    import tensorflow_datasets as tfds

    names = tfds.builder("conll2003").info.features["ner"].names
    tokens, tags = [], []
    for example in dataset.as_numpy_iterator():
        tokens.append([token.decode("utf-8") for token in example["tokens"]])
        tags.append([names[tag] for tag in example["ner"]])
    return Sentences(tokens, tags)


def load_conll(data_dir=None):
    """`Splits` of `Sentences`, from the local files or tensorflow-datasets."""
    local = sources.find_local(list(FILES.values()), data_dir)
    if local:
        return Splits(*(Sentences(*map(list, zip(*tagging.read_conll(path)))) for path in local))
    message = sources.missing_data_message(
        "CoNLL-2003", list(FILES.values()), "let tensorflow-datasets download conll2003 (needs network).", data_dir
    )
    return Splits(*(_read_tfds(split, message) for split in TFDS_SPLITS))


def make_splits(config):
    """The three splits, each cut to its first `max_examples` sentences if set."""
    return load_conll(config.data.data_dir).head(config.data.max_examples)


def build_vocabulary(sentences, min_count):
    """Normalized words seen at least `min_count` times, most frequent first."""
    flat = tf.constant([token for sentence in sentences.tokens for token in sentence])
    counts = Counter(word.decode("utf-8") for word in words.normalize_words(flat).numpy())
    return [word for word, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if count >= min_count]


def tag_names(config):
    return tagging.tag_names(ENTITY_TYPES, config.tag_scheme)


def encode_tags(sentences, config):
    """Tag ids (into `tag_names(config)`) of every sentence, in the configured scheme."""
    convert = tagging.to_bioes if config.tag_scheme == "bioes" else tagging.to_iob2
    index = {name: i for i, name in enumerate(tag_names(config))}
    return [[index[tag] for tag in convert(tags)] for tags in sentences.tags]


def _ragged(rows, dtype):
    lengths = [len(row) for row in rows]
    values = [value for row in rows for value in row]
    return tf.RaggedTensor.from_row_lengths(tf.constant(values, dtype, shape=[len(values)]), lengths)


def length_boundaries(sentences, config):
    return text.length_bucket_boundaries([len(tokens) for tokens in sentences.tokens], config.data.num_buckets)


def make_dataset(sentences, config, boundaries, training):
    """Length-bucketed batches of `(tokens (batch, time) string, tag ids (batch, time))`.

    Tokens are right-padded with `""` and tags with `PAD_LABEL`; shuffled when `training`.
    """
    tokens = _ragged(sentences.tokens, tf.string)
    tag_ids = _ragged(encode_tags(sentences, config), tf.int32)
    dataset = text.ragged_rows_dataset(tokens, tag_ids)
    if training:
        dataset = dataset.shuffle(len(sentences.tokens), seed=config.seed, reshuffle_each_iteration=True)
    lengths = np.array([len(row) for row in sentences.tokens])
    batches = text.bucketed_batches(
        dataset, config.data.batch_size, boundaries, lengths, padding_values=("", text.PAD_LABEL)
    )
    return batches.prefetch(tf.data.AUTOTUNE)
