"""The NER tagger on token strings: word, casing and character features, a bidirectional recurrent
stack, and a CRF or softmax output."""

import keras

from data_pipelines import words
from tasks.ner.data import PAD_TAG
from zoo.layers import CRF, CharacterEncoder, RecurrentStack, WordFeatures
from zoo.layers.crf import CRFLoss


def build_tagger(config, vocabulary, num_tags):
    """Token strings `(batch, time)`, right-padded with `""` -> `(trainer, tagger)`.

    `trainer` outputs the per-token tag scores `(batch, time, num_tags)` that the loss reads;
    `tagger` shares its layers and outputs int32 tag ids `(batch, time)`: the Viterbi path with
    the CRF, the per-token argmax with softmax. Tag ids past a sentence's end carry no meaning.
    """
    tokens = keras.Input((None,), dtype="string", name="tokens")
    word_features = WordFeatures(
        vocabulary, config.max_chars, config.unknown_word_rate, seed=config.seed, name="word_features"
    )
    word_ids, casing_ids, char_ids = word_features(tokens)
    features = [
        keras.layers.Embedding(word_features.vocabulary_size, config.word_dim, mask_zero=True, name="words")(
            word_ids
        ),
        # Every part carries the padding mask: Concatenate ORs masks, so one unmasked part unmasks all.
        keras.layers.Embedding(words.NUM_CASINGS, config.casing_dim, mask_zero=True, name="casing")(casing_ids),
    ]
    if config.char_encoder != "none":
        features.append(
            CharacterEncoder(
                words.NUM_CHARS, config.char_dim, config.char_units, config.char_encoder, name="characters"
            )(char_ids)
        )
    hidden = keras.layers.Concatenate(name="word_vectors")(features)
    hidden = keras.layers.Dropout(config.dropout)(hidden)
    hidden = RecurrentStack(
        config.cell,
        config.hidden_dim,
        num_layers=config.num_layers,
        bidirectional=True,
        dropout=config.dropout,
        return_sequences=True,
    )(hidden)
    hidden = keras.layers.Dropout(config.dropout)(hidden)
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


def tagger_loss(config, tagger):
    """The training loss for `trainer`'s tag scores, given labels padded with `PAD_TAG`."""
    if config.output_layer == "crf":
        return CRFLoss(tagger.get_layer("crf"))
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD_TAG)
