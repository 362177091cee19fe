"""Attention heat map of one translation, saved as PNG.

    python -m tasks.translation.attention_map translation-dates "3rd of March 2021" --out attention.png

The input is translated (beam search with the export's defaults unless given) and the weights come
from `Translator.translate_with_attention`, which the export's `attention` endpoint also serves.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from tasks.translation.model import load_translator  # noqa: E402


def attention_weights(model, sentence, beam_width, alpha):
    """`(source tokens, output tokens, weights (output tokens, source tokens), translation)`; the
    output tokens end with `</s>`."""
    outputs = model.translate_with_attention(tf.constant([sentence]), beam_width, alpha)
    decode = lambda tokens: [token.decode("utf-8") for token in tokens.numpy() if token]  # noqa: E731
    source_tokens, output_tokens = decode(outputs["source_tokens"][0]), decode(outputs["output_tokens"][0])
    weights = outputs["attention"][0].numpy()[: len(output_tokens), : len(source_tokens)]
    return source_tokens, output_tokens, weights, outputs["translation"][0].numpy().decode()


def plot(source_tokens, output_tokens, weights, path, title=""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights = weights[: len(output_tokens), : max(len(source_tokens), 1)]
    figure, axes = plt.subplots(
        figsize=(max(4, 0.35 * len(source_tokens) + 2), max(3, 0.35 * len(output_tokens) + 1.5))
    )
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source_tokens)), [repr(token)[1:-1] for token in source_tokens], rotation=90)
    axes.set_yticks(range(len(output_tokens)), output_tokens)
    axes.set_xlabel("input")
    axes.set_ylabel("output")
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="model name in saved_models/ or an export directory")
    parser.add_argument("sentence")
    parser.add_argument("--out", default="attention.png")
    parser.add_argument("--beam-width", type=int)
    parser.add_argument("--alpha", type=float)
    args = parser.parse_args(argv)
    model, config = load_translator(args.model)
    beam_width = args.beam_width or config.beam_width
    alpha = config.length_alpha if args.alpha is None else args.alpha
    source_tokens, output_tokens, weights, translation = attention_weights(model, args.sentence, beam_width, alpha)
    plot(source_tokens, output_tokens, weights, args.out, f"{args.sentence!r} -> {translation!r}")
    print(f"{args.sentence!r} -> {translation!r}; attention map written to {args.out}")


if __name__ == "__main__":
    main()
