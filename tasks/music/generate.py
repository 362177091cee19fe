"""Generate a melody from an exported music model into a MIDI file, a piano roll and optionally audio.

python -m tasks.music.generate --events 256 --temperature 0.9 --seed 1 --primer in.mid --out solo.mid --wav
"""

import argparse

import numpy as np
import tensorflow as tf

import zoo
from data_pipelines import midi
from zoo.checks import error_message

PRIMER_BARS = 2


def primer_events(path, bars=PRIMER_BARS, instrument=None):
    """The first `bars` 4/4 bars of a MIDI file's melody, as events."""
    events = midi.melody_to_events(midi.read_midi(path, instrument))
    return events[: bars * 4 * midi.STEPS_PER_BEAT]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="music", help="a name in saved_models/ or an export directory")
    parser.add_argument("--events", type=int, default=256, help="new events (sixteenth notes) to generate")
    parser.add_argument("--temperature", type=float, default=1.0, help="below 1 sharpens, above 1 flattens")
    parser.add_argument("--top-k", type=int, default=0, help="keep the k likeliest events; 0 keeps all")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus mass; 1 keeps all")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same melody")
    parser.add_argument("--primer", help="a MIDI file whose first bars the melody continues")
    parser.add_argument("--primer-bars", type=int, default=PRIMER_BARS)
    parser.add_argument("--condition", default="", help="a performer or corpus from the model card's conditions")
    parser.add_argument("--tempo", type=float, help="beats per minute; default the model card's")
    parser.add_argument("--out", default="solo.mid", help="the MIDI file; the piano roll goes beside it")
    parser.add_argument("--wav", action="store_true", help="also render audio with fluidsynth")
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be at least 1")

    model = zoo.load(args.model)
    primer = primer_events(args.primer, args.primer_bars) if args.primer else np.zeros([0], np.int32)
    try:
        result = model.saved_model.generate(
            args.events, args.temperature, args.top_k, args.top_p, args.seed, primer, args.condition, 1
        )
    except tf.errors.InvalidArgumentError as error:
        parser.error(error_message(error))
    tempo = args.tempo or model.card.get("tempo_bpm", 120.0)
    for path in midi.write_melody(result["events"].numpy()[0], args.out, tempo, args.wav):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
