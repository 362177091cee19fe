"""In-graph beam search vs a Python loop that calls the model once per step.

    python -m benchmarks.decoding [--model translation-spa-en] [--data-dir DIR] [--batch-sizes 1,8,32]
        [--sentences 64] [--beam-width 4] [--alpha 0.6]

Same model, same sentences, batch, beam width and length normalization. The in-graph decoder is
`Translator.translate` (zoo.decoding.beam_search in a `tf.function`, as inside the SavedModel); the
reference runs the same algorithm with NumPy bookkeeping in Python and calls the model's decoder
step eagerly once per output token, the way a first implementation often does. Both must return the
same translations; the script prints sentences per second of each and their ratio, per batch size.
"""

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from tasks.translation import data  # noqa: E402
from tasks.translation.analyze import load_translator  # noqa: E402
from tasks.translation.train import EXAMPLES, translate_function  # noqa: E402


def python_loop_beam_search(model, sentences, beam_width, alpha):
    """Beam search as in `zoo.decoding.beam_search`, driven step by step from Python."""
    source_ids = model.source_ids(tf.constant(sentences))
    state, context, _ = model.decoder_start(source_ids)
    state = [tf.repeat(tensor, beam_width, axis=0) for tensor in state]
    context = {key: tf.repeat(value, beam_width, axis=0) for key, value in context.items()}
    batch = len(sentences)
    log_prob = np.tile(np.where(np.arange(beam_width) == 0, 0.0, -np.inf), (batch, 1))
    scores = log_prob.copy()
    lengths = np.zeros((batch, beam_width), np.int64)
    finished = np.zeros((batch, beam_width), bool)
    history = np.full((batch, beam_width, 1), data.START_ID)
    for _ in range(model.max_target_length):
        if not np.any(~finished & (log_prob > -np.inf)):
            break
        step_log_probs, state = model.decode_step(tf.constant(history[:, :, -1].reshape(-1), tf.int32), state, context)
        step_log_probs = step_log_probs.numpy().reshape(batch, beam_width, -1)
        vocab = step_log_probs.shape[-1]
        only_end = np.where(np.arange(vocab) == data.END_ID, 0.0, -np.inf)
        step_log_probs = np.where(finished[..., None], only_end, step_log_probs)
        candidates = log_prob[..., None] + step_log_probs
        candidate_lengths = lengths + ~finished
        normalized = candidates / np.maximum(candidate_lengths, 1)[..., None] ** alpha
        flat = normalized.reshape(batch, -1)
        best = np.argsort(-flat, axis=1, kind="stable")[:, :beam_width]
        parent, token = best // vocab, best % vocab
        rows = np.arange(batch)[:, None]
        scores = flat[rows, best]
        log_prob = candidates.reshape(batch, -1)[rows, best]
        lengths = candidate_lengths[rows, parent]
        finished = finished[rows, parent] | (token == data.END_ID)
        history = np.concatenate([history[rows, parent], token[..., None]], axis=-1)
        gather = tf.constant((parent + beam_width * rows).reshape(-1))
        state = [tf.gather(tensor, gather) for tensor in state]
    lengths -= finished
    ids = history[:, 0, 1:]
    texts = model.target_text(tf.constant(ids, tf.int64), tf.constant(lengths[:, 0]))
    return [text.decode("utf-8") for text in texts.numpy()], scores[:, 0]


def sentences_for(config, data_dir, count):
    if data_dir:
        config.data_dir = data_dir
        try:
            return data.load_splits(config)["test"][0][:count]
        except FileNotFoundError:
            pass
    examples = EXAMPLES["dates" if config.dataset == "dates" else config.language]
    return [examples[i % len(examples)] for i in range(count)]


def compare(model, sentences, batch_size, beam_width, alpha):
    """Seconds of the in-graph and the Python-loop decoder over `sentences`, and their agreement."""
    batches = [sentences[i : i + batch_size] for i in range(0, len(sentences), batch_size)]
    in_graph = translate_function(model)
    beam, alpha_tensor = tf.constant(beam_width), tf.constant(alpha)
    in_graph(tf.constant(batches[0]), beam, alpha_tensor)  # trace once, outside the timing

    started = time.perf_counter()
    graph_outputs = [in_graph(tf.constant(batch), beam, alpha_tensor) for batch in batches]
    graph_seconds = time.perf_counter() - started
    started = time.perf_counter()
    loop_outputs = [python_loop_beam_search(model, batch, beam_width, alpha) for batch in batches]
    loop_seconds = time.perf_counter() - started

    graph_texts = [text.decode("utf-8") for output in graph_outputs for text in output["translation"].numpy()]
    loop_texts = [text for texts, _ in loop_outputs for text in texts]
    agreement = float(np.mean([a == b for a, b in zip(graph_texts, loop_texts)]))
    return graph_seconds, loop_seconds, agreement


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="translation-spa-en")
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR"))
    parser.add_argument("--batch-sizes", default="1,8,32", help="comma-separated")
    parser.add_argument("--sentences", type=int, default=64, help="sentences decoded per batch size")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--alpha", type=float, default=0.6)
    args = parser.parse_args(argv)

    model, config = load_translator(args.model)
    sentences = sentences_for(config, args.data_dir, args.sentences)
    print(f"model {args.model}, {len(sentences)} sentences, beam {args.beam_width}, alpha {args.alpha}")
    print(f"{'batch':>5} {'in-graph sent/s':>16} {'Python loop sent/s':>19} {'ratio':>7} {'same output':>12}")
    for batch_size in [int(size) for size in args.batch_sizes.split(",")]:
        graph_seconds, loop_seconds, agreement = compare(model, sentences, batch_size, args.beam_width, args.alpha)
        print(f"{batch_size:5d} {len(sentences) / graph_seconds:16.1f} {len(sentences) / loop_seconds:19.1f} "
              f"{loop_seconds / graph_seconds:6.1f}x {100 * agreement:11.1f}%")


if __name__ == "__main__":
    main()
