"""`python -m zoo list | predict NAME INPUT... | demo | serve`: the exported models, offline."""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo import export, serve  # noqa: E402


def _format(row):
    return json.dumps({key: _rounded(value) for key, value in row.items()}, ensure_ascii=False)


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    return [_rounded(item) for item in value] if isinstance(value, list) else value


def _list(_args):
    names = export.available()
    if not names:
        print(f"No exported models in {export.models_dir()}")
    for name in names:
        card = export.read_card(export.models_dir() / name)
        metrics = ", ".join(f"{key} {value:.4f}" for key, value in card.get("test_metrics", {}).items())
        print(f"{name}: {card.get('description', card.get('task', ''))} [{metrics}]")


def _predict(args):
    import tensorflow as tf

    from zoo.checks import error_message

    predictor = export.load(args.model)
    try:
        _run_prediction(predictor, args)
    except tf.errors.InvalidArgumentError as error:
        sys.exit(f"{predictor.name}: {error_message(error)}")


def _run_prediction(predictor, args):
    if args.sample:
        _sample(predictor, args)
        return
    if args.events:
        _generate(predictor, args)
        return
    if not args.inputs:
        sys.exit("predict needs inputs, or --sample N for a model that samples")
    spec = predictor.input_spec()
    if spec.dtype.is_floating:
        for path, row in zip(args.inputs, _audio_rows(predictor, args.inputs)):
            print(f"{path!r} -> {_format(row)}", flush=True)
        return
    if spec.dtype.is_integer:
        inputs = [_integer(predictor, text, spec.name) for text in args.inputs]
    else:
        # The bytes as given: an argument that is not UTF-8 reaches the model as it is, which replaces what it
        # cannot decode.
        inputs = [os.fsencode(text) for text in args.inputs]
    for text, row in zip(args.inputs, predictor.predict(inputs)):
        print(f"{text!r} -> {_format(row)}")


def _integer(predictor, text, name):
    try:
        return int(text)
    except ValueError:
        sys.exit(f"{predictor.name}: takes integer {name}, got {text!r}")


def _audio_rows(predictor, paths):
    """The model's rows for audio files, one file a batch (files differ in length), each as soon as it is heard."""
    from data_pipelines import audio

    for path in paths:
        try:
            samples = audio.read_audio(path)
        except audio.UnreadableAudio as error:
            sys.exit(f"{predictor.name}: {error}")
        yield predictor.predict([samples])[0]


def _sample(predictor, args):
    if not hasattr(predictor.saved_model, "sample"):
        sys.exit(f"{predictor.name} has no sample endpoint; its endpoints: {', '.join(predictor.endpoints())}")
    result = predictor.saved_model.sample(args.sample, args.temperature, args.seed, args.prefix, args.top_k, args.top_p)
    for text in result["text"].numpy():
        print(text.decode("utf-8"))


def _generate(predictor, args):
    if not hasattr(predictor.saved_model, "generate"):
        sys.exit(f"{predictor.name} has no generate endpoint; its endpoints: {', '.join(predictor.endpoints())}")
    import numpy as np

    from data_pipelines import midi

    no_primer = np.zeros([0], np.int32)
    result = predictor.saved_model.generate(
        args.events, args.temperature, args.top_k, args.top_p, args.seed, no_primer, args.condition, 1
    )
    events = result["events"].numpy()[0]
    if not args.out:
        print(" ".join(str(event) for event in events))
        return
    for path in midi.write_melody(events, args.out, predictor.card.get("tempo_bpm", 120.0)):
        print(f"wrote {path}")


def _demo(_args):
    names = export.available()
    if not names:
        sys.exit(f"No exported models in {export.models_dir()}: train one with python -m tasks.<name>.train")
    for name in names:
        predictor = export.load(name)
        print(f"== {name}: {predictor.card.get('description', '')}")
        examples = predictor.card.get("examples", [])
        if predictor.input_spec().dtype.is_floating:  # audio: the examples are files in the export
            rows = _audio_rows(predictor, [predictor.path / example for example in examples])
        else:
            rows = predictor.predict(examples)
        for example, row in zip(examples, rows):
            print(f"  {example!r}\n    -> {_format(row)}")
        if hasattr(predictor.saved_model, "sample"):
            samples = predictor.saved_model.sample(5, 1.0, 0, "", 0, 1.0)["text"].numpy()
            print(f"  5 samples (temperature 1, seed 0): {', '.join(text.decode() for text in samples)}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m zoo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the exported models and their test metrics").set_defaults(run=_list)
    predict = commands.add_parser("predict", help="run an exported model on raw inputs")
    predict.add_argument("model", help="model name in saved_models/ or an export directory")
    predict.add_argument("inputs", nargs="*")
    predict.add_argument("--sample", type=int, default=0, metavar="N", help="print N samples (language models)")
    predict.add_argument("--temperature", type=float, default=1.0, help="with --sample or --events: below 1 sharpens")
    predict.add_argument(
        "--seed", type=int, default=0, help="with --sample or --events: the same seed, the same output"
    )
    predict.add_argument("--prefix", default="", help="with --sample: the text every sample continues")
    predict.add_argument(
        "--top-k", type=int, default=0, help="with --sample or --events: keep the k likeliest; 0 keeps all"
    )
    predict.add_argument(
        "--top-p", type=float, default=1.0, help="with --sample or --events: nucleus mass; 1 keeps all"
    )
    predict.add_argument("--events", type=int, default=0, metavar="N", help="generate N events (music models)")
    predict.add_argument("--condition", default="", help="with --events: a condition from the model card")
    predict.add_argument("--out", default="", help="with --events: write a MIDI file and its piano roll")
    predict.set_defaults(run=_predict)
    commands.add_parser("demo", help="every exported model on its built-in examples").set_defaults(run=_demo)
    serve_parser = commands.add_parser(
        "serve", help="the models behind TensorFlow Serving's REST API and a web page (python -m zoo serve -h)"
    )
    serve.add_arguments(serve_parser)
    serve_parser.set_defaults(run=serve.serve)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except FileNotFoundError as error:
        sys.exit(str(error))


if __name__ == "__main__":
    main()
