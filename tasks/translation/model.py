"""The attention encoder-decoder, end to end: raw strings in, translated strings out."""

import dataclasses
import json

import keras
import tensorflow as tf

from data_pipelines import text
from tasks.translation import data
from tasks.translation.config import TranslationConfig
from zoo import decoding, export
from zoo.config import from_dict
from zoo.layers import AdditiveAttention, RecurrentStack


def _embedding(size, dim, name):
    # Keras' default initializer (uniform within +-0.05) leaves the source's signal so faint that the
    # decoder settles into an English language model: measured, one batch of Tatoeba pairs stays at
    # loss 3.6 after 200 Adam steps. With unit-variance embeddings it reaches 0.6.
    return keras.layers.Embedding(
        size, dim, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0), name=name
    )


@keras.saving.register_keras_serializable(package="zoo")
class Translator(keras.Model):
    """Bidirectional recurrent encoder (LSTM by default), additive attention, LSTM decoder, with in-graph
    decoding.

    The decoder LSTM reads the previous target token; its output attends over the encoder outputs
    (Bahdanau's additive score, applied after the recurrent step as in Luong et al. 2015, so teacher
    forcing runs the whole target in one fused LSTM call), and `tanh(W [output; context])` predicts
    the next token. The encoder's final states, through a dense bridge, start the decoder.

    Args:
        source_vocabulary: source tokens (words or characters), most frequent first.
        target_vocabulary: target tokens; `<s>`, `</s>`, padding and `[UNK]` are added.
        level: `word` or `char` tokenization (see `data.tokenize`).
        lowercase_source: lower-case inputs before tokenizing.
        max_source_length: tokens read from each input; the rest is cut off.
        max_target_length: the most tokens decoded, the end token included.
        embedding_dim: source and target embedding size.
        cell, hidden_dim, num_layers, dropout: the bidirectional encoder `RecurrentStack` (its dropout also
            drops the embeddings, the encoder outputs and the decoder's output layer).
        decoder_hidden_dim, attention_hidden_dim: the decoder LSTM's units and the attention's hidden size.

    Call arguments:
        inputs: `(source_ids, decoder_input_ids)`, int `(batch, source_time)` and
            `(batch, target_time)`, padded with 0; decoder inputs start with `<s>`.

    Returns:
        Next-token logits `(batch, target_time, target_vocab_size)`.
    """

    def __init__(
        self,
        source_vocabulary,
        target_vocabulary,
        level="word",
        lowercase_source=True,
        max_source_length=50,
        max_target_length=50,
        embedding_dim=256,
        cell="lstm",
        hidden_dim=256,
        num_layers=1,
        decoder_hidden_dim=384,
        attention_hidden_dim=256,
        dropout=0.3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_vocabulary = list(source_vocabulary)
        self.target_vocabulary = list(target_vocabulary)
        self.level = level
        self.lowercase_source = lowercase_source
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.embedding_dim = embedding_dim
        self.cell = cell
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.decoder_hidden_dim = decoder_hidden_dim
        self.attention_hidden_dim = attention_hidden_dim
        self.dropout = dropout

        self.source_lookup = data.source_lookup(self.source_vocabulary)
        self.target_lookup = data.target_lookup(self.target_vocabulary)
        self.target_tokens = [str(token) for token in self.target_lookup.get_vocabulary()]
        self.source_vocab_size = self.source_lookup.vocabulary_size()
        self.target_vocab_size = self.target_lookup.vocabulary_size()
        self.source_embedding = _embedding(self.source_vocab_size, embedding_dim, "source_embedding")
        self.encoder = RecurrentStack(
            cell,
            hidden_dim,
            num_layers,
            bidirectional=True,
            dropout=dropout,
            return_sequences=True,
            return_state=True,
            name="encoder",
        )
        self.bridge = keras.layers.Dense(2 * decoder_hidden_dim, activation="tanh", name="bridge")
        self.target_embedding = _embedding(self.target_vocab_size, embedding_dim, "target_embedding")
        self.decoder = keras.layers.LSTM(decoder_hidden_dim, return_sequences=True, name="decoder")
        self.attention = AdditiveAttention(attention_hidden_dim, name="attention")
        self.attentional = keras.layers.Dense(decoder_hidden_dim, activation="tanh", name="attentional")
        self.output_layer = keras.layers.Dense(self.target_vocab_size, name="next_token")
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.build()

    def build(self, input_shape=None):
        encoded = 2 * self.hidden_dim
        self.source_embedding.build((None, None))
        self.encoder.build((None, None, self.embedding_dim))
        self.bridge.build((None, self.encoder.states_per_layer * self.hidden_dim))
        self.target_embedding.build((None, None))
        self.decoder.build((None, None, self.embedding_dim))
        self.attention.build((None, None, self.decoder_hidden_dim), (None, None, encoded))
        self.attentional.build((None, None, self.decoder_hidden_dim + encoded))
        self.output_layer.build((None, None, self.decoder_hidden_dim))
        self.built = True

    # Text <-> ids, in the graph.

    def source_ids(self, texts):
        """Strings `(batch,)` -> int64 `(batch, time >= 1)` source ids, cut and right-padded (`data.source_ids`)."""
        return data.source_ids(texts, self.source_lookup, self.level, self.lowercase_source, self.max_source_length)

    def target_ids(self, texts):
        """Strings `(batch,)` -> ragged int64 `[<s>, tokens..., </s>]` (not cut)."""
        return data.target_ids(texts, self.target_lookup, self.level)

    def target_text(self, ids, lengths):
        """Target ids `(batch, time)` and lengths -> strings."""
        tokens = tf.gather(tf.constant(self.target_tokens), ids)
        return data.detokenize(tf.RaggedTensor.from_tensor(tokens, lengths=lengths), self.level)

    # The network.

    def encode(self, source_ids, training=None):
        """Returns encoder outputs `(batch, time, 2 * hidden_dim)`, the source mask and the decoder's
        initial `[h, c]`."""
        mask = tf.not_equal(source_ids, text.PAD_ID)
        embedded = self.dropout_layer(self.source_embedding(source_ids), training=training)
        outputs, *states = self.encoder(embedded, mask=mask, training=training)
        # The top layer's final states, forward and backward ([h, c] each for an LSTM, [h] for a GRU).
        top = states[-self.encoder.states_per_layer :]
        h, c = tf.split(self.bridge(tf.concat(top, axis=-1)), 2, axis=-1)
        return self.dropout_layer(outputs, training=training), mask, [h, c]

    def _next_token_logits(self, decoder_outputs, context, training=None):
        hidden = self.attentional(tf.concat([decoder_outputs, context], axis=-1))
        return self.output_layer(self.dropout_layer(hidden, training=training))

    def teacher_forced(self, source_ids, decoder_input_ids, training=None):
        """Logits `(batch, target_time, vocab)` and attention weights `(batch, target_time, source_time)`."""
        values, source_mask, state = self.encode(source_ids, training)
        embedded = self.dropout_layer(self.target_embedding(decoder_input_ids), training=training)
        outputs = self.decoder(
            embedded, mask=tf.not_equal(decoder_input_ids, text.PAD_ID), initial_state=state, training=training
        )
        context, weights = self.attention(outputs, values, source_mask=source_mask)
        return self._next_token_logits(outputs, context, training), weights

    def call(self, inputs, training=None):
        source_ids, decoder_input_ids = inputs
        return self.teacher_forced(source_ids, decoder_input_ids, training)[0]

    def decode_step(self, tokens, state, context):
        """One decoder step for `zoo.decoding`: log-probabilities of the next token, never padding,
        `[UNK]` or `<s>`."""
        embedded = self.target_embedding(tokens)
        output, state = self.decoder.cell(embedded, state)
        attended, _ = self.attention(
            output[:, None], context["values"], source_mask=context["mask"], projected_keys=context["keys"]
        )
        logits = self._next_token_logits(output, attended[:, 0])
        forbidden = tf.range(self.target_vocab_size) <= data.START_ID
        return tf.where(forbidden, float("-inf"), tf.nn.log_softmax(logits)), state

    def decoder_start(self, source_ids):
        """`(state, context, start_ids)` for `zoo.decoding` from source ids."""
        values, mask, state = self.encode(source_ids)
        context = {"values": values, "mask": mask, "keys": self.attention.project_keys(values)}
        return state, context, tf.fill(tf.shape(source_ids)[:1], data.START_ID)

    def _best_beam(self, source_ids, beam_width, alpha):
        """The best beam's ids `(batch, time)` (`</s>` after the end), lengths, scores, and whether each input
        had any source token."""
        state, context, start_ids = self.decoder_start(source_ids)
        result = decoding.beam_search(
            self.decode_step, state, context, start_ids, data.END_ID, self.max_target_length, beam_width, alpha
        )
        has_source = tf.reduce_any(context["mask"], axis=1)
        return result["ids"][:, 0], result["lengths"][:, 0], result["scores"][:, 0], has_source

    def translate(self, texts, beam_width=1, alpha=0.0):
        """Strings `(batch,)` -> `{"translation": strings, "score": log P / length ** alpha}`.

        Beam search with `beam_width` beams (1 is greedy). An input with no tokens translates to "".
        """
        ids, lengths, scores, has_source = self._best_beam(self.source_ids(texts), beam_width, alpha)
        return {"translation": tf.where(has_source, self.target_text(ids, lengths), ""), "score": scores}

    def translate_with_attention(self, texts, beam_width=1, alpha=0.0):
        """`translate`'s outputs and the attention behind them.

        Adds `source_tokens` `(batch, source_time)` and `output_tokens` `(batch, target_time)` (ending with
        `</s>`), both padded with "", and `attention` `(batch, target_time, source_time)`: the weights each
        output token was predicted with. The best beam is fed back through the decoder with teacher forcing,
        which, the decoder being deterministic given the prefix, reproduces the weights of the search.
        """
        texts = tf.reshape(texts, [-1])
        source_ids = self.source_ids(texts)
        ids, lengths, scores, has_source = self._best_beam(source_ids, beam_width, alpha)
        batch = tf.shape(ids)[0]
        ids = tf.concat([ids, tf.fill([batch, 1], data.END_ID)], axis=1)  # a `</s>` even where search hit the limit
        produced = tf.range(tf.shape(ids)[1]) <= lengths[:, None]  # the tokens, then `</s>`
        decoder_inputs = tf.concat([tf.fill([batch, 1], data.START_ID), ids[:, :-1]], axis=1)
        _, weights = self.teacher_forced(source_ids, tf.where(produced, decoder_inputs, text.PAD_ID))
        source_tokens = data.tokenize(texts, self.level, self.lowercase_source)[:, : self.max_source_length]
        output_tokens = tf.gather(tf.constant(self.target_tokens), ids)
        return {
            "translation": tf.where(has_source, self.target_text(ids, lengths), ""),
            "score": scores,
            "source_tokens": source_tokens.to_tensor("", shape=[batch, tf.shape(source_ids)[1]]),
            "output_tokens": tf.where(produced, output_tokens, ""),
            "attention": tf.where(produced[:, :, None], weights, 0.0),
        }

    def sequence_scores(self, texts, translations, alpha=0.0):
        """`log P(translation | text) / length ** alpha`, the score beam search ranks by (end token included)."""
        target_ids = self.target_ids(translations)
        lengths = target_ids.row_lengths() - 1
        target_ids = target_ids.to_tensor()
        logits, _ = self.teacher_forced(self.source_ids(texts), target_ids[:, :-1])
        log_probs = tf.nn.log_softmax(logits)
        token_log_probs = tf.gather(log_probs, target_ids[:, 1:], batch_dims=2)
        valid = tf.sequence_mask(lengths, tf.shape(token_log_probs)[1])
        total = tf.reduce_sum(tf.where(valid, token_log_probs, 0.0), axis=1)
        return decoding.length_normalized(total, lengths, alpha)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "source_vocabulary": self.source_vocabulary,
                "target_vocabulary": self.target_vocabulary,
                "level": self.level,
                "lowercase_source": self.lowercase_source,
                "max_source_length": self.max_source_length,
                "max_target_length": self.max_target_length,
                "embedding_dim": self.embedding_dim,
                "cell": self.cell,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "decoder_hidden_dim": self.decoder_hidden_dim,
                "attention_hidden_dim": self.attention_hidden_dim,
                "dropout": self.dropout,
            }
        )
        return config


def build_translator(config, source_vocabulary, target_vocabulary):
    """A `Translator` sized by a `TranslationConfig`."""
    return Translator(
        source_vocabulary,
        target_vocabulary,
        level=config.level,
        lowercase_source=True,
        max_source_length=config.max_source_length,
        max_target_length=config.max_target_length,
        embedding_dim=config.embedding_dim,
        **dataclasses.asdict(config.recurrent),
        decoder_hidden_dim=config.decoder_hidden_dim,
        attention_hidden_dim=config.attention_hidden_dim,
        name="translator",
    )


def load_translator(name_or_path):
    """The Keras `Translator` and the run config of an export (a directory or a name in saved_models/)."""
    path = export.resolve(name_or_path)
    model = export.load_keras(path)
    config = from_dict(TranslationConfig, json.loads((path / "config.json").read_text()))
    return model, config
