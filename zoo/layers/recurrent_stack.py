"""Stacked, optionally bidirectional LSTM / GRU / SimpleRNN layers."""

import keras

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}
MERGE_MODES = ("concat", "sum", "mul", "ave")


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentStack(keras.layers.Layer):
    """A stack of recurrent layers, each optionally bidirectional.

    Every task builds its recurrent part from this layer. Each recurrent layer keeps Keras' defaults
    (tanh / sigmoid activations, no recurrent dropout, `reset_after=True` for GRU), so on a GPU Keras
    runs the fused cuDNN kernel whenever the mask is right-padded. Dropout is applied to the outputs
    between layers (never inside the recurrence) for the same reason.

    Args:
        cell: `"lstm"`, `"gru"` or `"simple"`.
        hidden_dim: units per direction in every layer.
        num_layers: number of stacked recurrent layers.
        bidirectional: run each layer in both directions.
        merge_mode: how the two directions are combined: `"concat"`, `"sum"`, `"mul"` or `"ave"`.
        dropout: dropout rate on the outputs of every layer but the last.
        return_sequences: return the top layer's output at every step instead of the last one.
        return_state: also return the final states of every layer.

    Call arguments:
        inputs: `(batch, time, features)`.
        mask: optional boolean `(batch, time)`, True at real steps. Usually propagated from an
            `Embedding(mask_zero=True)`.
        initial_state: optional flat list of states in the order `return_state` gives them.
        training: whether dropout is active.

    Returns:
        The top layer's output, `(batch, time, d)` with `return_sequences` or `(batch, d)` without,
        where `d = hidden_dim`, doubled for bidirectional `"concat"`. With `return_state`, a list
        `[output, *states]`: for each layer in order, its final states (`[h, c]` for LSTM, `[h]`
        otherwise), forward direction first then backward, each `(batch, hidden_dim)`.
    """

    def __init__(
        self,
        cell="lstm",
        hidden_dim=64,
        num_layers=1,
        bidirectional=False,
        merge_mode="concat",
        dropout=0.0,
        return_sequences=False,
        return_state=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.cell = cell
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.merge_mode = merge_mode
        self.dropout = dropout
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.supports_masking = True

        self.recurrent_layers = []
        for index in range(num_layers):
            is_top = index == num_layers - 1
            layer = CELLS[cell](
                hidden_dim,
                return_sequences=return_sequences or not is_top,
                return_state=return_state,
                name=f"{cell}_{index}",
                dtype=self.dtype_policy,
            )
            if bidirectional:
                layer = keras.layers.Bidirectional(
                    layer, merge_mode=merge_mode, name=f"bidirectional_{index}", dtype=self.dtype_policy
                )
            self.recurrent_layers.append(layer)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    @property
    def states_per_layer(self):
        return (2 if self.cell == "lstm" else 1) * (2 if self.bidirectional else 1)

    @property
    def output_dim(self):
        return self.hidden_dim * (2 if self.bidirectional and self.merge_mode == "concat" else 1)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.recurrent_layers:
            layer.build(shape)
            shape = shape[:2] + (self.output_dim,)
        self.built = True

    def call(self, inputs, mask=None, initial_state=None, training=None):
        per_layer = self.states_per_layer
        if initial_state is not None and len(initial_state) != per_layer * self.num_layers:
            raise ValueError(
                f"initial_state needs {per_layer * self.num_layers} tensors "
                f"({per_layer} per layer), got {len(initial_state)}"
            )
        outputs = inputs
        final_states = []
        for index, layer in enumerate(self.recurrent_layers):
            layer_state = None
            if initial_state is not None:
                layer_state = list(initial_state[index * per_layer : (index + 1) * per_layer])
            result = layer(outputs, mask=mask, initial_state=layer_state, training=training)
            if self.return_state:
                outputs, states = result[0], list(result[1:])
                final_states.extend(states)
            else:
                outputs = result
            if index < self.num_layers - 1:
                outputs = self.dropout_layer(outputs, training=training)
        if self.return_state:
            return [outputs] + final_states
        return outputs

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * (self.states_per_layer * self.num_layers)
        return output_mask

    def compute_output_shape(self, input_shape):
        batch, time = input_shape[0], input_shape[1]
        output_shape = (batch, time, self.output_dim) if self.return_sequences else (batch, self.output_dim)
        if self.return_state:
            state_shape = (batch, self.hidden_dim)
            return [output_shape] + [state_shape] * (self.states_per_layer * self.num_layers)
        return output_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell": self.cell,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "bidirectional": self.bidirectional,
                "merge_mode": self.merge_mode,
                "dropout": self.dropout,
                "return_sequences": self.return_sequences,
                "return_state": self.return_state,
            }
        )
        return config
