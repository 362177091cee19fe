"""In-graph beam search vs a Python loop that calls the model once per step.

    python -m benchmarks.decoding [--model translation-spa-en] [--data-dir DIR] [--batch-sizes 1,8,32]
        [--sentences 64] [--beam-width 4] [--alpha 0.6]

Same model, same sentences, batch, beam width and length normalization. The in-graph decoder is
`Translator.translate` (zoo.decoding.beam_search in a `tf.function`, as inside the SavedModel); the
references run the same algorithm with NumPy bookkeeping in Python and call the model eagerly once
per output token, in two ways: the decoder step alone, carrying its state (the careful loop), or the
whole Keras model on the source and the prefix so far (the loop a training model invites). All must
return the same translations; the script prints sentences per second of each and the ratios, per
batch size.
"""

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from tasks.translation import data  # noqa: E402
from tasks.translation.model import load_translator  # noqa: E402
from tasks.translation.task import EXAMPLES, translate_function  # noqa: E402


class IncrementalStep:
    """Calls the decoder once per step on the previous tokens, carrying the LSTM state."""

    def __init__(self, model, source_ids, beam_width):
        self.model = model
        state, context, _ = model.decoder_start(source_ids)
        self.state = [tf.repeat(tensor, beam_width, axis=0) for tensor in state]
        self.context = {key: tf.repeat(value, beam_width, axis=0) for key, value in context.items()}

    def __call__(self, history):
        tokens = tf.constant(history[:, -1], tf.int32)
        log_probs, self.new_state = self.model.decode_step(tokens, self.state, self.context)
        return log_probs.numpy()

    def reorder(self, rows):
        self.state = [tf.gather(tensor, rows) for tensor in self.new_state]


class FullModelStep:
    """Calls the whole Keras model (encoder and teacher-forced decoder) on the prefix at every step,
    as decoding loops built on a training model usually do (e.g. keras-io's translation examples)."""

    def __init__(self, model, source_ids, beam_width):
        self.model = model
        self.source_ids = tf.repeat(source_ids, beam_width, axis=0)

    def __call__(self, history):
        logits = self.model((self.source_ids, tf.constant(history)), training=False)[:, -1]
        log_probs = tf.nn.log_softmax(logits).numpy()
        log_probs[:, : data.START_ID + 1] = -np.inf
        return log_probs

    def reorder(self, rows):
        pass


def python_loop_beam_search(model, sentences, beam_width, alpha, step_class):
    """Beam search as in `zoo.decoding.beam_search`, driven step by step from Python."""
    source_ids = model.source_ids(tf.constant(sentences))
    step = step_class(model, source_ids, beam_width)
    batch = len(sentences)
    log_prob = np.tile(np.where(np.arange(beam_width) == 0, 0.0, -np.inf), (batch, 1))
    scores = log_prob.copy()
    lengths = np.zeros((batch, beam_width), np.int64)
    finished = np.zeros((batch, beam_width), bool)
    history = np.full((batch, beam_width, 1), data.START_ID)
    for _ in range(model.max_target_length):
        if not np.any(~finished & (log_prob > -np.inf)):
            break
        step_log_probs = step(history.reshape(batch * beam_width, -1)).reshape(batch, beam_width, -1)
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
        step.reorder(tf.constant((parent + beam_width * rows).reshape(-1)))
    lengths -= finished
    ids = history[:, 0, 1:]
    texts = model.target_text(tf.constant(ids, tf.int64), tf.constant(lengths[:, 0]))
    return [text.decode("utf-8") for text in texts.numpy()], scores[:, 0]


def sentences_for(config, data_dir, count):
    if data_dir:
        config.data.data_dir = data_dir
        try:
            return data.load_splits(config).test.sources[:count]
        except FileNotFoundError:
            pass
    examples = EXAMPLES["dates" if config.dataset == "dates" else config.language]
    return [examples[i % len(examples)] for i in range(count)]


def timed(decode, batches):
    started = time.perf_counter()
    texts = [text for batch in batches for text in decode(batch)]
    return time.perf_counter() - started, texts


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
    in_graph = translate_function(model)
    beam, alpha = tf.constant(args.beam_width), tf.constant(args.alpha)
    decoders = {
        "in-graph": lambda batch: [
            t.decode("utf-8") for t in in_graph(tf.constant(batch), beam, alpha)["translation"].numpy()
        ],
        "loop, decoder step": lambda batch: python_loop_beam_search(
            model, batch, args.beam_width, args.alpha, IncrementalStep
        )[0],
        "loop, whole model": lambda batch: python_loop_beam_search(
            model, batch, args.beam_width, args.alpha, FullModelStep
        )[0],
    }
    print(
        f"model {args.model}, {len(sentences)} sentences, beam {args.beam_width}, alpha {args.alpha}; "
        "sentences/s, and the in-graph speed-up over each Python loop (same output: share of sentences)"
    )
    for batch_size in [int(size) for size in args.batch_sizes.split(",")]:
        batches = [sentences[i : i + batch_size] for i in range(0, len(sentences), batch_size)]
        in_graph(tf.constant(batches[0]), beam, alpha)  # trace once, outside the timing
        results = {name: timed(decode, batches) for name, decode in decoders.items()}
        graph_seconds, graph_texts = results["in-graph"]
        line = f"batch {batch_size:3d}: in-graph {len(sentences) / graph_seconds:7.1f}"
        for name in list(decoders)[1:]:
            seconds, texts = results[name]
            same = np.mean([a == b for a, b in zip(graph_texts, texts)])
            line += (
                f" | {name} {len(sentences) / seconds:6.1f} ({seconds / graph_seconds:5.1f}x, same {100 * same:.0f}%)"
            )
        print(line)


if __name__ == "__main__":
    main()
