"""The NER tagger on token strings: word, casing and character features, a bidirectional recurrent
stack, and a CRF or softmax output."""

import dataclasses

import keras
import numpy as np

from data_pipelines import lexicons, text, words
from zoo.layers import CRF, CharacterEncoder, LexiconMatch, RecurrentStack, WordFeatures
from zoo.layers.crf import CRFLoss


def build_tagger(config, vocabulary, num_tags, word_vectors=None):
    """Token strings `(batch, time)`, right-padded with `""` -> `(trainer, tagger)`.

    The word embeddings of the `vocabulary` words that have a vector in `word_vectors` (a
    `zoo.word_vectors.WordVectors`) start from it; the others, and the unknown word, start at random.

    `trainer` outputs the per-token tag scores `(batch, time, num_tags)` that the loss reads;
    `tagger` shares its layers and outputs int32 tag ids `(batch, time)`: the Viterbi path with
    the CRF, the per-token argmax with softmax. Tag ids past a sentence's end carry no meaning.
    """
    tokens = keras.Input((None,), dtype="string", name="tokens")
    word_features = WordFeatures(
        vocabulary, config.max_word_length, config.unknown_word_rate, seed=config.seed, name="word_features"
    )
    word_ids, casing_ids, char_ids = word_features(tokens)
    # Every part carries the padding mask: Concatenate ORs masks, so one unmasked part unmasks all.
    word_embedding = keras.layers.Embedding(
        word_features.vocab_size, config.embedding_dim, mask_zero=True, name="words"
    )
    casing_embedding = keras.layers.Embedding(
        words.CASING_VOCAB_SIZE, config.casing_embedding_dim, mask_zero=True, name="casing"
    )
    features = [word_embedding(word_ids), casing_embedding(casing_ids)]
    if word_vectors is not None:
        _start_from_vectors(word_embedding, vocabulary, word_vectors)
    if config.char_encoder != "none":
        characters = CharacterEncoder(
            words.CHAR_VOCAB_SIZE,
            config.char_embedding_dim,
            config.char_hidden_dim,
            config.char_encoder,
            name="characters",
        )
        features.append(characters(char_ids))
    if config.lexicons:
        features.append(LexiconMatch(lexicons.lexicons(), lexicons.MAX_PHRASE_TOKENS, name="lexicons")(tokens))
    hidden = keras.layers.Concatenate(name="word_vectors")(features)
    hidden = keras.layers.Dropout(config.recurrent.dropout)(hidden)
    stack = RecurrentStack(**dataclasses.asdict(config.recurrent), bidirectional=True, return_sequences=True)
    hidden = stack(hidden)
    hidden = keras.layers.Dropout(config.recurrent.dropout)(hidden)
    scores = keras.layers.Dense(num_tags, name="tag_scores")(hidden)
    trainer = keras.Model(tokens, scores, name="ner_trainer")
    if config.output_layer == "crf":
        crf = CRF(num_tags, name="crf")
        tag_ids = crf(scores)
        # The CRF decodes only in the tagger, but the trainer's loss reads its transitions: as an
        # attribute of the trainer, its weights are trained, averaged and checkpointed with the rest.
        trainer.crf = crf
    else:
        tag_ids = keras.ops.cast(keras.ops.argmax(scores, axis=-1), "int32")
    return trainer, keras.Model(tokens, tag_ids, name="ner_tagger")


def _start_from_vectors(embedding, vocabulary, word_vectors):
    if word_vectors.vectors.shape[1] != embedding.output_dim:
        raise ValueError(
            f"embedding_dim is {embedding.output_dim} but the word vectors have {word_vectors.vectors.shape[1]} "
            "dimensions: set embedding_dim to theirs"
        )
    row = {word: i for i, word in enumerate(word_vectors.words)}
    # Vocabulary word i has id i + 2, after padding and the unknown word.
    pairs = [(i + 2, row[word]) for i, word in enumerate(vocabulary) if word in row]
    if pairs:
        ids, rows = map(list, zip(*pairs))
        table = embedding.embeddings.numpy()
        table[ids] = word_vectors.vectors[rows]
        embedding.embeddings.assign(table)


def extend_vocabulary(vocabulary, word_vectors, max_added):
    """`vocabulary` followed by up to `max_added` words of `word_vectors` it lacks, most frequent first."""
    known = set(vocabulary)
    return vocabulary + [word for word in word_vectors.words if word not in known][:max_added]


def average_taggers(taggers):
    """One tagger from several trained CRF taggers of the same tags: the Viterbi path of the mean of their tag
    scores under the mean of their transition scores (the average of their CRF potentials).

    Args:
        taggers: `tagger`s of `build_tagger` (or loaded from `model.keras`), each with a CRF output.

    Returns:
        A tagger with the same input and output as each member.
    """
    tokens = keras.Input((None,), dtype="string", name="tokens")
    scores = [
        keras.Model(tagger.inputs, tagger.get_layer("tag_scores").output, name=f"member_{i}")(tokens)
        for i, tagger in enumerate(taggers)
    ]
    crf = CRF(taggers[0].get_layer("crf").num_tags, name="crf")
    tag_ids = crf(keras.layers.Average(name="tag_scores")(scores))
    member_weights = zip(*(tagger.get_layer("crf").get_weights() for tagger in taggers))
    crf.set_weights([np.mean(weights, axis=0) for weights in member_weights])
    return keras.Model(tokens, tag_ids, name="ner_ensemble")


def tagger_loss(config, tagger):
    """The training loss for `trainer`'s tag scores, given labels padded with `PAD_LABEL`."""
    if config.output_layer == "crf":
        return CRFLoss(tagger.get_layer("crf"))
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=text.PAD_LABEL)
