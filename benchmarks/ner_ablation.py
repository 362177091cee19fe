"""NER ablation: CRF vs softmax output, with vs without character features, with lexicon features, on
CoNLL-2003 test.

    python -m benchmarks.ner_ablation --data-dir DIR [--epochs 15] [--out-dir runs/ner_ablation]
        [--variants NAME ...] [--card saved_models/ner/model_card.json]

Each variant is the default `NerConfig` with one or both parts swapped, trained with the same seed and
epochs, selected on valid F1 and scored on test with the conlleval rules. `--card` adds the table to a
model card as `ablation`.
"""

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tasks.ner.config import NerConfig  # noqa: E402
from tasks.ner.train import train_and_evaluate  # noqa: E402
from zoo.config import from_dict  # noqa: E402

VARIANTS = {
    "crf+chars": {},
    "softmax+chars": {"output_layer": "softmax"},
    "crf, no chars": {"char_encoder": "none"},
    "softmax, no chars": {"output_layer": "softmax", "char_encoder": "none"},
    "crf+chars+lexicons": {"lexicons": True},
}


def run(data_dir, epochs, out_dir, variants=tuple(VARIANTS)):
    results = {}
    for name in variants:
        overrides = VARIANTS[name]
        workdir = Path(out_dir) / name.replace(", ", "-").replace("+", "-")
        config = from_dict(NerConfig, {"data_dir": data_dir, "epochs": epochs, "out_dir": str(workdir), **overrides})
        metrics = train_and_evaluate(config, command=f"python -m benchmarks.ner_ablation --epochs {epochs}")
        results[name] = {
            "test_f1": metrics["test"]["f1"],
            "validation_f1": metrics["validation"]["f1"],
            "epochs": epochs,
            "overrides": overrides,
            "training_time_s": metrics["training_time_s"],
        }
        print(json.dumps({name: results[name]}), flush=True)
    return results


def add_to_card(card_path, results, command):
    card_path = Path(card_path)
    card = json.loads(card_path.read_text())
    earlier = card.get("ablation", {}).get("results", {})
    card["ablation"] = {"command": command, "results": {**earlier, **results}}
    partial = card_path.with_name(card_path.name + ".tmp")
    partial.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(partial, card_path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out-dir", default="runs/ner_ablation")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--card", help="a model_card.json to add the results to (merged with its table)")
    args = parser.parse_args(argv)
    results = run(args.data_dir, args.epochs, args.out_dir, args.variants)
    for name, result in results.items():
        print(f"{name:>18}: test F1 {100 * result['test_f1']:.2f}  valid F1 {100 * result['validation_f1']:.2f}")
    if args.card:
        add_to_card(args.card, results, f"python -m benchmarks.ner_ablation --epochs {args.epochs}")


if __name__ == "__main__":
    main()
