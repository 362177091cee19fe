"""Sentiment classifier on token ids, and the end-to-end model on raw text."""

import dataclasses

import keras

from zoo.layers import BigramHashing, MaskedGlobalPooling, RecurrentStack, TextToIds, TimeReduction


def build_classifier(config, embedding_dtype=None):
    """Token ids `(batch, time)` -> P(positive) `(batch, 1)`.

    Word embeddings (plus hashed bigram embeddings when `bigram_buckets > 0`), spatial dropout, every
    `time_reduction` consecutive tokens stacked into one step, a bidirectional `RecurrentStack` over the
    steps, masked max+mean pooling, dropout, sigmoid.
    `embedding_dtype` sets the embedding tables' dtype (default: the global policy's); every later
    layer computes in float32.
    """
    token_ids = keras.Input((None,), dtype="int64", name="token_ids")
    embedded = keras.layers.Embedding(
        config.vocab_size, config.embedding_dim, mask_zero=True, dtype=embedding_dtype, name="words"
    )(token_ids)
    if config.bigram_buckets:
        bigram_ids = BigramHashing(config.vocab_size, config.bigram_buckets, name="bigram_hashing")(token_ids)
        # Bigram id 0 is exactly the padding, and Add drops the mask unless every input carries one.
        bigrams = keras.layers.Embedding(
            config.bigram_buckets, config.embedding_dim, mask_zero=True, dtype=embedding_dtype, name="bigrams"
        )(bigram_ids)
        embedded = keras.layers.Add(name="words_and_bigrams")([embedded, bigrams])
    features = keras.layers.SpatialDropout1D(config.embedding_dropout)(embedded)
    if config.time_reduction > 1:
        features = TimeReduction(config.time_reduction, name="time_reduction")(features)
    stack = RecurrentStack(**dataclasses.asdict(config.recurrent), bidirectional=True, return_sequences=True)
    features = stack(features)
    pooled = MaskedGlobalPooling(("max", "mean"))(features)
    pooled = keras.layers.Dropout(config.recurrent.dropout)(pooled)
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")(pooled)
    return keras.Model(token_ids, probability, name="sentiment_classifier")


def build_end_to_end(vectorizer, classifier, config):
    """Review strings `(batch,)` -> P(positive) `(batch, 1)`, with the text processing inside.

    It wraps an uncompiled copy of `classifier` (no optimizer state) whose embedding tables, nearly all
    of the weights, are stored in float16: that halves the export, and the test metrics in the model
    card are measured on this model.
    """
    inference = build_classifier(config, embedding_dtype="float16")
    inference.set_weights(classifier.get_weights())
    texts = keras.Input((), dtype="string", name="review")
    token_ids = TextToIds(vectorizer, config.max_length, config.truncation, name="text_to_ids")(texts)
    return keras.Model(texts, inference(token_ids), name="sentiment")
