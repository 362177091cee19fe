"""Raw strings to padded token ids inside a model."""

import keras
import tensorflow as tf

from data_pipelines import text

# A vectorizer's standardization is saved by its registered name; data_pipelines sits below zoo and
# registers nothing, so the name is given here.
keras.saving.register_keras_serializable(package="zoo", name="standardize_text")(text.standardize_text)


@keras.saving.register_keras_serializable(package="zoo")
class TextToIds(keras.layers.Layer):
    """Standardizes, tokenizes, truncates and right-pads a batch of strings.

    It puts the training pipeline's text processing inside an exported model, so the model takes raw
    text. The vocabulary is the wrapped `TextVectorization`'s, saved with the model.

    Args:
        vectorizer: an adapted `keras.layers.TextVectorization` with `ragged=True`.
        max_length: the most tokens kept per text.
        truncation: `"head"` keeps the first `max_length` tokens, `"tail"` the last.

    Call arguments:
        inputs: string tensor `(batch,)`.

    Returns:
        int64 `(batch, time)` with `1 <= time <= max_length`, padded with 0. A text without tokens
        is a fully padded row, which masked layers downstream treat as empty.
    """

    def __init__(self, vectorizer, max_length, truncation="head", **kwargs):
        super().__init__(trainable=False, **kwargs)
        if isinstance(vectorizer, dict):
            vectorizer = keras.saving.deserialize_keras_object(vectorizer)
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {max_length}")
        if truncation not in text.TRUNCATIONS:
            raise ValueError(f"truncation must be one of {text.TRUNCATIONS}, got {truncation!r}")
        self.vectorizer = vectorizer
        self.max_length = max_length
        self.truncation = truncation

    def call(self, inputs):
        token_ids = self.vectorizer(tf.reshape(inputs, [-1]))
        return text.to_padded_ids(text.truncate(token_ids, self.max_length, self.truncation))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None)

    def get_config(self):
        config = super().get_config()
        config.pop("trainable", None)
        vectorizer = keras.saving.serialize_keras_object(self.vectorizer)
        # TextVectorization keeps its vocabulary out of its config (a `.keras` file stores it as an asset);
        # in the config too, a copy made with `from_config` looks words up like the original.
        vectorizer["config"]["vocabulary"] = [str(word) for word in self.vectorizer.get_vocabulary()]
        if callable(vectorizer["config"]["standardize"]):
            vectorizer["config"]["standardize"] = keras.saving.serialize_keras_object(self.vectorizer._standardize)
        config.update({"vectorizer": vectorizer, "max_length": self.max_length, "truncation": self.truncation})
        return config
