"""Word vectors for the NER tagger learned here, from the English text the project already has.

The corpus: the 50,000 IMDB reviews (train and test; HTML line breaks removed), the English side of the Anki
pairs (spa, fra, deu; each distinct sentence once) and the CoNLL-2003 training sentences. No CoNLL validation
or test sentence is read. Text is tokenized as the tagger tokenizes it (`data_pipelines.words.split_words`)
and normalized as it looks words up (`words.normalize_words`: lower case, digits 0), so every vector is the
one of a word id the tagger can have. A review is one sequence: context windows never cross two reviews.

    python -m tasks.ner.word_vectors --data-dir ../shared/data --out runs/word_vectors.npz
"""

import dataclasses
import time

import tensorflow as tf

from data_pipelines import corpora, words
from tasks.ner import data as conll
from zoo import flags, word_vectors
from zoo.word_vectors import SkipGramConfig

TOKENIZE_BATCH = 2_000


def _tokenized(texts):
    """Normalized words of raw `texts`, ragged `(texts, None)`."""
    parts = []
    for start in range(0, len(texts), TOKENIZE_BATCH):
        tokens, _, _ = words.split_words(tf.constant(texts[start : start + TOKENIZE_BATCH]))
        parts.append(tf.ragged.map_flat_values(words.normalize_words, tokens))
    return tf.concat(parts, axis=0)


def english_corpus(data_dir=None):
    """`(sentences, sizes)`: the corpus as ragged normalized words, and `{source: (sequences, tokens)}`."""
    imdb = corpora.load_imdb(data_dir)
    reviews = [review.replace("<br />", " ") for split in ("train", "test") for review in imdb[split].texts]
    english = {sentence for language in corpora.ANKI_FILES for sentence in corpora.load_anki(language, data_dir)[1]}
    conll_train = conll.load_conll(data_dir).train.tokens
    parts = {
        "imdb": _tokenized(reviews),
        "anki": _tokenized(sorted(english)),
        "conll_train": tf.ragged.map_flat_values(words.normalize_words, tf.ragged.constant(conll_train)),
    }
    sizes = {name: (int(part.shape[0]), int(tf.size(part.flat_values))) for name, part in parts.items()}
    return tf.concat(list(parts.values()), axis=0), sizes


@dataclasses.dataclass
class WordVectorsConfig(SkipGramConfig):
    """Skip-gram vectors of the project's English text for the NER tagger.

    Attributes:
        data_dir: local data directory, searched before `$ZOO_DATA_DIR`.
        out: the `.npz` file written (`zoo.word_vectors.save`).
    """

    data_dir: str | None = None
    out: str = "runs/word_vectors.npz"


def main(argv=None):
    config = flags.parse_config(WordVectorsConfig, {}, argv)
    start = time.perf_counter()
    sentences, sizes = english_corpus(config.data_dir)
    for name, (sequences, tokens) in sizes.items():
        print(f"{name}: {sequences:,} sequences, {tokens:,} tokens")
    vectors = word_vectors.train_word_vectors(sentences, config)
    seconds = round(time.perf_counter() - start, 1)
    word_vectors.save(
        config.out,
        vectors,
        config=dataclasses.asdict(config),
        corpus={name: {"sequences": s, "tokens": t} for name, (s, t) in sizes.items()},
        training_time_s=seconds,
    )
    print(f"{len(vectors.words):,} words x {config.dim} in {seconds} s -> {config.out}")
    for probe in ("london", "germany", "john", "monday", "company"):
        if probe in vectors.words:
            print(probe, ", ".join(word for word, _ in word_vectors.nearest(vectors, probe, 6)))


if __name__ == "__main__":
    main()
