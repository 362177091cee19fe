"""Translation data: generated dates or Anki/Tatoeba sentence pairs, tokenization, vocabularies, tf.data.

Sentence pairs: local copy `anki/{spa,fra,deu}.txt.gz` (`English<TAB>other`, one pair per line) under
`--data-dir` or `$ZOO_DATA_DIR`; without it, the Spanish file of the TensorFlow NMT tutorial is
downloaded. The split is deterministic: pairs are grouped by their normalized source sentence, the
groups shuffled with the seed, and test, then validation, filled group by group, so no test or
validation source sentence (up to case and punctuation) occurs in train.

Sentence pairs are translated word by word rather than in subwords: Tatoeba sentences are short and
everyday, the words seen 3 times in train cover 96.8% of the Spanish and 98.3% of the English test
tokens, and word lookups keep the whole pipeline in core TensorFlow ops inside the SavedModel.
"""

import gzip
import re
from collections import Counter
from pathlib import Path

import numpy as np
import tensorflow as tf

from data_pipelines import sources, text, words
from tasks.translation import dates

ANKI_FILES = {language: f"anki/{language}.txt.gz" for language in ("spa", "fra", "deu")}
TUTORIAL_URL = "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"
# Reserved target tokens; tokenization splits off "<" and ">", so no word can collide with them.
START, END = "<s>", "</s>"
SPECIAL_TARGET_TOKENS = (START, END)
MASK_ID, UNKNOWN_ID, START_ID, END_ID = 0, 1, 2, 3


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


def _read_anki(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    english, other = [], []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
                raise ValueError(f"{path}:{line_number}: expected 'English<TAB>translation', got {line!r}")
            english.append(fields[0].strip())
            other.append(fields[1].strip())
    return other, english


def load_anki(language, data_dir=None):
    """`(sources, targets)`: sentences in `language` and their English translations."""
    relative = ANKI_FILES[language]
    local = sources.find_local([relative], data_dir)
    if local:
        return _read_anki(local[0])
    hint = ("let Keras download the TensorFlow NMT tutorial copy (needs network)." if language == "spa"
            else "download it from https://www.manythings.org/anki/.")
    message = sources.missing_data_message(f"Anki {language}-eng pairs", [relative], hint, data_dir)
    if language != "spa":
        raise sources.DataNotFoundError(message)
    import keras

    try:
        archive = keras.utils.get_file("spa-eng.zip", TUTORIAL_URL, extract=True)
    except Exception as error:
        raise sources.DataNotFoundError(f"{message} (download failed: {error})") from error
    return _read_anki(next(Path(archive).rglob("spa.txt")))


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
    return {
        name: ([source_sentences[i] for i in sorted(indices)], [target_sentences[i] for i in sorted(indices)])
        for name, indices in splits.items()
    }


def load_splits(config):
    """`{"train", "validation", "test"}` -> `(sources, targets)` lists of strings."""
    if config.dataset == "dates":
        splits = dates.date_splits(config.num_train, config.validation_size, config.num_test, config.seed)
    else:
        pairs = load_anki(config.language, config.data_dir)
        splits = split_pairs(*pairs, config.test_size, config.validation_size, config.seed)
    if config.max_examples:
        splits = {name: (s[: config.max_examples], t[: config.max_examples]) for name, (s, t) in splits.items()}
    return splits


def build_vocabulary(sentences, level, lowercase, min_count):
    """Tokens seen at least `min_count` times in `sentences`, most frequent first (ties by token)."""
    counts = Counter()
    for start in range(0, len(sentences), 8192):
        tokens = tokenize(tf.constant(sentences[start : start + 8192]), level, lowercase)
        counts.update(token.decode("utf-8") for token in tokens.flat_values.numpy())
    kept = [token for token, count in counts.items() if count >= min_count and token not in ("", "[UNK]")]
    return sorted(kept, key=lambda token: (-counts[token], token))


def _rows_dataset(ragged):
    dense, lengths = ragged.to_tensor(), ragged.row_lengths()
    return tf.data.Dataset.from_tensor_slices((dense, lengths)).map(lambda row, length: row[:length])


def make_dataset(source_ids, target_ids, config, boundaries, training):
    """`((source ids, decoder input ids), decoder target ids)` batches, bucketed by source length.

    `target_ids` are ragged `[START, tokens..., END]`; pairs whose target is longer than
    `config.max_target_length` tokens (END included) are dropped from training.
    """
    if training:
        keep = target_ids.row_lengths() - 1 <= config.max_target_length
        source_ids = tf.ragged.boolean_mask(source_ids, keep)
        target_ids = tf.ragged.boolean_mask(target_ids, keep)
    lengths = source_ids.row_lengths().numpy()
    dataset = tf.data.Dataset.zip(_rows_dataset(source_ids), _rows_dataset(target_ids))
    if training:
        dataset = dataset.shuffle(len(lengths), seed=config.seed, reshuffle_each_iteration=True)
    dataset = text.bucketed_batches(dataset, config.batch_size, boundaries, lengths, padding_values=(MASK_ID, MASK_ID))
    dataset = dataset.map(lambda source, target: ((source, target[:, :-1]), target[:, 1:]))
    return dataset.prefetch(tf.data.AUTOTUNE)
