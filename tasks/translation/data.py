"""Translation data: generated dates or Anki/Tatoeba sentence pairs, tokenization, vocabularies, tf.data.

Sentence pairs are read by `data_pipelines.corpora.load_anki` (local `anki/{spa,fra,deu}.txt.gz`, or the
TensorFlow NMT tutorial's Spanish file). The split is deterministic: pairs are grouped by their normalized
source sentence, the groups shuffled with the seed, and test, then validation, filled group by group, so no
test or validation source sentence (up to case and punctuation) occurs in train.

Sentence pairs are translated word by word rather than in subwords: Tatoeba sentences are short and
everyday, the words seen 3 times in train cover 96.8% of the Spanish and 98.3% of the English test
tokens, and word lookups keep the whole pipeline in core TensorFlow ops inside the SavedModel.
"""

import re
from collections import Counter
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from data_pipelines import text, words
from data_pipelines.corpora import load_anki
from data_pipelines.splits import Splits
from tasks.translation import dates

# Reserved target tokens; tokenization splits off "<" and ">", so no word can collide with them.
START, END = "<s>", "</s>"
SPECIAL_TARGET_TOKENS = (START, END)
# After padding (text.PAD_ID) and the unknown token (text.UNKNOWN_ID) in every target lookup.
START_ID, END_ID = 2, 3


class Pairs(NamedTuple):
    sources: list  # of source strings
    targets: list  # of their translations


def tokenize(texts, level, lowercase=False):
    """Strings `(batch,)` -> ragged string tokens `(batch, None)`, in the graph.

    Whitespace and control characters collapse into single spaces and invalid UTF-8 is replaced.
    `char` level: every character is a token (spaces included). `word` level: punctuation other than
    apostrophes becomes a token of its own (`¿Dónde está?` -> `¿ Dónde está ?`; `don't` stays whole).
    """
    texts = words.valid_utf8(texts)
    texts = tf.strings.strip(tf.strings.regex_replace(texts, r"[\p{Z}\p{Cc}]+", " "))
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    if level == "char":
        return tf.strings.unicode_split(texts, "UTF-8")
    return tf.strings.split(tf.strings.regex_replace(texts, r"([^\p{L}\p{N}\p{M}_\s'])", r" \1 "))


def detokenize(tokens, level):
    """Ragged string tokens -> strings: the inverse of `tokenize` up to spacing around punctuation."""
    if level == "char":
        return tf.strings.reduce_join(tokens, axis=-1)
    joined = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
    joined = tf.strings.regex_replace(joined, r" ([.,!?;:%)\]}])", r"\1")
    joined = tf.strings.regex_replace(joined, r"([¿¡(\[{$]) ", r"\1")
    # Hyphenated words and numbers with separators (`twenty-one`, `3:30`, `1,000`) rejoin.
    joined = tf.strings.regex_replace(joined, r"([\p{L}\p{N}]) - ([\p{L}\p{N}])", r"\1-\2")
    return tf.strings.regex_replace(joined, r"(\p{N})([.,:]) (\p{N})", r"\1\2\3")


def source_key(sentence):
    """What makes two source sentences "the same" for the split: case and punctuation ignored."""
    return " ".join(re.findall(r"\w+", sentence.lower()))


def split_pairs(source_sentences, target_sentences, test_size, validation_size, seed=0):
    """Deterministic train / validation / test split with no shared source sentence.

    Groups are filled in shuffled order until a split holds exactly its size; the pairs of the
    group that would overflow it are left out of every split, so train never sees that source.
    """
    groups = {}
    for index, sentence in enumerate(source_sentences):
        groups.setdefault(source_key(sentence), []).append(index)
    keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    splits = {"test": [], "validation": [], "train": []}
    sizes = {"test": test_size, "validation": validation_size}
    filling = iter(("test", "validation", "train"))
    current = next(filling)
    for position in order:
        members = groups[keys[position]]
        while current != "train" and len(splits[current]) >= sizes[current]:
            current = next(filling)
        if current != "train" and len(splits[current]) + len(members) > sizes[current]:
            splits[current].extend(members[: sizes[current] - len(splits[current])])
            continue
        splits[current].extend(members)
    return Splits(
        **{
            name: Pairs([source_sentences[i] for i in sorted(indices)], [target_sentences[i] for i in sorted(indices)])
            for name, indices in splits.items()
        }
    )


def load_splits(config):
    """`Splits` of `Pairs`: generated dates, or the Anki pairs of `config.language`."""
    if config.dataset == "dates":
        generated = dates.date_splits(config.train_size, config.validation_size, config.test_size, config.seed)
        splits = Splits(**{name: Pairs(*pairs) for name, pairs in generated.items()})
    else:
        pairs = load_anki(config.language, config.data.data_dir)
        splits = split_pairs(*pairs, config.test_size, config.validation_size, config.seed)
    return splits.head(config.data.max_examples)


def build_vocabulary(sentences, level, lowercase, min_count):
    """Tokens seen at least `min_count` times in `sentences`, most frequent first (ties by token)."""
    counts = Counter()
    for start in range(0, len(sentences), 8192):
        tokens = tokenize(tf.constant(sentences[start : start + 8192]), level, lowercase)
        counts.update(token.decode("utf-8") for token in tokens.flat_values.numpy())
    kept = [token for token, count in counts.items() if count >= min_count and token not in ("", "[UNK]")]
    return sorted(kept, key=lambda token: (-counts[token], token))


def source_lookup(vocabulary):
    """Source tokens -> ids: `text.PAD_ID` for "", `text.UNKNOWN_ID`, then `vocabulary` in order."""
    return keras.layers.StringLookup(vocabulary=list(vocabulary), mask_token="", name="source_lookup")


def target_lookup(vocabulary):
    """Target tokens -> ids: padding, unknown, `<s>`, `</s>` (`START_ID`, `END_ID`), then `vocabulary`."""
    return keras.layers.StringLookup(
        vocabulary=list(SPECIAL_TARGET_TOKENS) + list(vocabulary), mask_token="", name="target_lookup"
    )


def source_ids(texts, lookup, level, lowercase, max_length):
    """Strings `(batch,)` -> int64 `(batch, time >= 1)` source ids, cut to `max_length` and right-padded."""
    tokens = tokenize(tf.reshape(texts, [-1]), level, lowercase)
    return text.to_padded(lookup(tokens)[:, :max_length], text.PAD_ID)


def target_ids(texts, lookup, level):
    """Strings `(batch,)` -> ragged int64 `[<s>, tokens..., </s>]` (not cut)."""
    ids = lookup(tokenize(tf.reshape(texts, [-1]), level))
    batch = tf.shape(ids.row_lengths(), out_type=tf.int64)[:1]
    start = tf.fill(batch, tf.constant(START_ID, tf.int64))
    end = tf.fill(batch, tf.constant(END_ID, tf.int64))
    return tf.concat([start[:, None], ids, end[:, None]], axis=1)


def _rows_dataset(ragged):
    dense, lengths = ragged.to_tensor(), ragged.row_lengths()
    return tf.data.Dataset.from_tensor_slices((dense, lengths)).map(lambda row, length: row[:length])


def make_datasets(splits, source_vocabulary, target_vocabulary, config):
    """`{"train", "validation"}` batches of `((source ids, decoder input ids), decoder target ids)`,
    bucketed by source length; train is shuffled, and its pairs whose target is longer than
    `config.max_target_length` tokens (the end token included) are left out."""
    sources_, targets_ = source_lookup(source_vocabulary), target_lookup(target_vocabulary)
    ids = {}
    for name in ("train", "validation"):
        pairs = getattr(splits, name)
        padded = source_ids(tf.constant(pairs.sources), sources_, config.level, True, config.max_source_length)
        ids[name] = (
            tf.RaggedTensor.from_tensor(padded, padding=text.PAD_ID),
            target_ids(tf.constant(pairs.targets), targets_, config.level),
        )
    boundaries = text.length_bucket_boundaries(ids["train"][0].row_lengths().numpy(), config.data.num_buckets)
    return {name: _batches(*ids[name], config, boundaries, name == "train") for name in ids}


def _batches(source, target, config, boundaries, training):
    if training:
        keep = target.row_lengths() - 1 <= config.max_target_length
        source, target = tf.ragged.boolean_mask(source, keep), tf.ragged.boolean_mask(target, keep)
    lengths = source.row_lengths().numpy()
    dataset = tf.data.Dataset.zip(_rows_dataset(source), _rows_dataset(target))
    if training:
        dataset = dataset.shuffle(len(lengths), seed=config.seed, reshuffle_each_iteration=True)
    padding = (text.PAD_ID, text.PAD_ID)
    dataset = text.bucketed_batches(dataset, config.data.batch_size, boundaries, lengths, padding_values=padding)
    dataset = dataset.map(lambda source, target: ((source, target[:, :-1]), target[:, 1:]))
    return dataset.prefetch(tf.data.AUTOTUNE)
