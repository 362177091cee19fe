"""Argument checks that hold inside a graph and a SavedModel, where Python `if`s cannot see the values."""

import tensorflow as tf

# Lines TensorFlow adds around a runtime error: where in the graph it happened, not what was wrong.
_GRAPH_LINES = ("Graph execution error", "Detected at node", "<stack traces unavailable>", "[[")


def checked(checks, *tensors):
    """`tensors` (each through `tf.identity`) computed only after every check passed.

    A failing check raises `tf.errors.InvalidArgumentError` with its message and values, eagerly or in a graph.
    The dependency makes a graph fail on the check rather than on whichever later op first trips over the value
    with an obscure error (`tf.repeat` of a negative count, a scatter out of range).

    Args:
        checks: `(condition, data)` pairs as `tf.debugging.Assert` takes them: a scalar bool, and a list of a
            message and the values to print.

    Returns:
        The tensors, one or a tuple as given.
    """
    asserts = [tf.debugging.Assert(condition, data) for condition, data in checks]
    with tf.control_dependencies([op for op in asserts if op is not None]):
        outputs = tuple(tf.identity(tensor) for tensor in tensors)
    return outputs[0] if len(outputs) == 1 else outputs


def error_message(error):
    """What a TensorFlow runtime error says was wrong, in one line without the graph's node names; a failed
    `checked` check reads as its message and values ("top_k must be >= 0 (0 keeps every token), got -1")."""
    lines = [line.strip() for line in error.message.splitlines()]
    line = next((line for line in lines if line and not line.startswith(_GRAPH_LINES)), lines[0])
    if line.startswith("assertion failed: [") and line.endswith("]"):
        # "assertion failed: [message] [value] [value]": each item bracketed, a message may hold brackets itself.
        line = " ".join(line[len("assertion failed: [") : -1].split("] ["))
    return line
