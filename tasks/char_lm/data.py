"""Sequences of characters for the language model: dinosaur names, the sonnets, first names, or your own
text file.

A corpus is a list of blocks, each a list of sequences (lines). Names are one block per name; the
sonnets are one block per stanza, so that held-out lines never sit between two training lines of
the same stanza. Blocks are shuffled with a fixed seed and dealt to test, validation and train in
that order; a name that occurs twice (after lower-casing) is kept once, so no name is in two splits.
"""

import importlib
import re
import string
import unicodedata
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from data_pipelines import corpora, sources, text
from data_pipelines.splits import Splits

FILES = {"dinos": "dinos/dinos.txt", "shakespeare": "dinos/shakespeare.txt"}
# The `names` corpus comes from a registry package, so training works with no data directory at all.
NAME_LOCALES = ("en", "en_GB", "en_IE", "en_IN", "en_KE", "en_NG", "en_NZ", "en_PK", "en_TH", "en_US")
NAMES_SOURCE = f"first names of faker's English-language locales ({', '.join(NAME_LOCALES)}), MIT licence"
# Debian's collatinus: Latin lemmas, proper names among them, marked with vowel quantities.
LATIN_LEMMA_FILES = [Path("/usr/share/collatinus/data") / name for name in ("lemmes.la", "lem_ext.la")]
SPLIT_SEED = 1234
END_TOKEN = "</s>"  # ends every sequence; never a character, which unicode_split yields one by one
END_ID = 2  # after text.PAD_ID and text.UNKNOWN_ID
FIRST_CHAR_ID = 3


class Lines(NamedTuple):
    texts: list  # of strings, one sequence each


def first_names():
    """Every first name in `faker`'s English-language locales, sorted so that the split never depends on the
    order faker keeps them in."""
    names = set()
    for locale in NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            table = getattr(provider, attribute, ())
            if isinstance(table, (dict, list, tuple)):  # some locales derive first_names with a property
                names.update(table)
    return sorted(names)


def read_blocks(config):
    """The corpus as blocks of sequences, from `text_file`, the data directory's `corpus`, or faker's names."""
    if config.text_file:
        path = Path(config.text_file).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"text_file {path} does not exist")
        lines, one_per_line = path.read_text(encoding="utf-8").splitlines(), True
    elif config.corpus == "names":
        path, lines, one_per_line = "faker", first_names(), True
    else:
        found = sources.find_local([FILES[config.corpus]], config.data.data_dir)
        if not found:
            raise sources.DataNotFoundError(
                sources.missing_data_message(
                    f"The {config.corpus} corpus",
                    [FILES[config.corpus]],
                    "pass --text-file with your own list, or --corpus names (no data needed).",
                    config.data.data_dir,
                )
            )
        path, one_per_line = found[0], config.corpus == "dinos"
        lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line.strip().lower() if config.lowercase else line.strip() for line in lines]
    if one_per_line:
        blocks = [[line] for line in dict.fromkeys(line for line in lines if line)]
    else:
        blocks, block = [], []
        for line in lines + [""]:
            if line:
                block.append(line)
            elif block:
                blocks.append(block)
                block = []
    if len(blocks) < 10:
        raise ValueError(f"{path}: {len(blocks)} non-empty blocks; a language model needs at least 10")
    return blocks


def make_splits(config):
    """Train, validation and test `Lines`, dealt block by block with a fixed seed."""
    blocks = read_blocks(config)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(blocks))
    total = sum(len(block) for block in blocks)
    held_out = {"test": config.split.test_fraction * total, "validation": config.split.validation_fraction * total}
    splits = {"test": [], "validation": [], "train": []}
    name = "test"
    for index in order:
        if name != "train" and len(splits[name]) >= held_out[name]:
            name = "validation" if name == "test" else "train"
        splits[name] += blocks[index]
    return Splits(Lines(splits["train"]), Lines(splits["validation"]), Lines(splits["test"])).head(
        config.data.max_examples
    )


def pretraining_lines(config, splits, vocabulary):
    """The sequences to pretrain on: pieces of the IMDB reviews or the Latin lemmas (`pretrain_corpus`) and
    the lines of the `pretrain_file` files, together.

    Only sequences written wholly in `vocabulary`'s characters are kept (lower-cased first when the corpus
    is), and none that contains a validation or test sequence, so that pretraining never reads held-out text
    (a review may quote a sonnet; a dictionary may hold a dinosaur). Deduplicated, then a seeded sample of
    `pretrain_sequences`, as `Lines`.
    """
    candidates = set()
    if config.pretrain_corpus == "imdb":
        candidates.update(review_pieces(config, clauses=" " in vocabulary))
    if config.pretrain_corpus == "latin":
        candidates.update(lemma.lower() if config.lowercase else lemma for lemma in latin_lemmas())
    candidates.update(_file_lines(config, "pretrain_file"))
    pieces = _unseen_pieces(candidates, config, splits, vocabulary)
    order = np.random.default_rng(config.seed).permutation(len(pieces))[: config.pretrain_sequences]
    return Lines([pieces[index] for index in sorted(order)])


def outside_ngram_lines(config, splits, vocabulary):
    """The sequences the outside n-gram is trained on: the lines of the `outside_ngram_file` files, kept as
    `pretraining_lines` keeps them (in `vocabulary`'s characters, none holding a held-out sequence), every one."""
    return Lines(_unseen_pieces(set(_file_lines(config, "outside_ngram_file")), config, splits, vocabulary))


def _unseen_pieces(candidates, config, splits, vocabulary):
    """The sorted `candidates` of at most `max_length` characters, all in `vocabulary`, that contain no
    validation or test sequence."""
    allowed = set(vocabulary)
    pieces = sorted(piece for piece in candidates if len(piece) <= config.max_length and set(piece) <= allowed)
    held_out = set(splits.validation.texts) | set(splits.test.texts)
    everything = "\n".join(pieces)
    quoted = [sequence for sequence in held_out if sequence in everything]
    return [piece for piece in pieces if not any(sequence in piece for sequence in quoted)]


def _file_lines(config, field):
    """The non-blank lines of the files in `config.<field>`, lower-cased when the corpus is."""
    for path in listed_files(getattr(config, field)):
        if not path.is_file():
            raise FileNotFoundError(f"{field} {path} does not exist")
        lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        yield from (line.lower() if config.lowercase else line for line in lines if line)


def listed_files(paths):
    """The paths in a comma-separated list, in order."""
    return [Path(path.strip()).expanduser() for path in paths.split(",") if path.strip()]


def latin_lemmas(paths=None):
    """The lemmas of collatinus' Latin dictionaries (`lemma[=variant]|model|...` lines, `!` comments), without
    their vowel-quantity marks and homonym numbers: `Ăbantĭădēs=Ăbāntĭădēs|cometes|||ae, m. npr.|3` gives
    `Abantiades`. Letters that fold to no Latin letter stay (collatinus writes a y with a breve as the Cyrillic
    `ў`), so a vocabulary of Latin letters drops their words."""
    paths = paths or LATIN_LEMMA_FILES
    missing = [str(path) for path in paths if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{', '.join(missing)} missing: apt-get install collatinus (Debian) for --pretrain-corpus latin"
        )
    lemmas = set()
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("!"):
                continue
            lemma = re.sub(r"\d", "", line.split("|", 1)[0].split("=", 1)[0])
            folded = "".join(char for char in unicodedata.normalize("NFKD", lemma) if not unicodedata.combining(char))
            if folded:
                lemmas.add(folded)
    return lemmas


def review_pieces(config, clauses):
    """The IMDB reviews (both official splits) cut into clauses (ended by `,;:.!?`) of 20 or more characters,
    or into words (punctuation around them stripped) of 3 or more; lower-cased when the corpus is."""
    reviews = corpora.load_imdb(config.data.data_dir)
    pieces = set()
    for review in (*reviews["train"].texts, *reviews["test"].texts):
        review = review.replace("<br />", " ")
        review = review.lower() if config.lowercase else review
        if clauses:
            candidates = (piece.strip() for piece in re.split(r"(?<=[,;:.!?])\s+", review))
            pieces.update(piece for piece in candidates if len(piece) >= 20)
        else:
            pieces.update(
                word for word in (word.strip(string.punctuation) for word in review.split()) if len(word) >= 3
            )
    return pieces


def build_vocabulary(texts):
    """The characters of `texts`, sorted; the model's ids follow this order from `FIRST_CHAR_ID`."""
    return sorted(set("".join(texts)))


def char_ids(vocabulary):
    """`{character: id}` for the characters of `vocabulary`."""
    return {char: FIRST_CHAR_ID + index for index, char in enumerate(vocabulary)}


def encode(texts, vocabulary, max_length):
    """`(inputs, targets)` ragged int32: `[END] + chars` and `chars + [END]`, cut to `max_length` characters.

    Characters outside `vocabulary` get `text.UNKNOWN_ID`.
    """
    ids = char_ids(vocabulary)
    rows = [[END_ID] + [ids.get(char, text.UNKNOWN_ID) for char in line[:max_length]] + [END_ID] for line in texts]
    inputs = tf.ragged.constant([row[:-1] for row in rows], tf.int32)
    targets = tf.ragged.constant([row[1:] for row in rows], tf.int32)
    return inputs, targets


def make_dataset(lines, vocabulary, config, training, batch_size=None):
    """Length-bucketed batches of `(inputs (batch, time), targets (batch, time))`, targets padded with
    `text.PAD_LABEL`; shuffled when `training`. `batch_size` defaults to the config's."""
    inputs, targets = encode(lines.texts, vocabulary, config.max_length)
    dataset = text.ragged_rows_dataset(inputs, targets)
    if training:
        dataset = dataset.shuffle(len(lines.texts), seed=config.seed, reshuffle_each_iteration=True)
    lengths = inputs.row_lengths().numpy()
    boundaries = text.length_bucket_boundaries(lengths, config.data.num_buckets)
    batches = text.bucketed_batches(
        dataset, batch_size or config.data.batch_size, boundaries, lengths, padding_values=(text.PAD_ID, text.PAD_LABEL)
    )
    return batches.prefetch(tf.data.AUTOTUNE)
