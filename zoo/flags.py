"""One flag convention for every task, built from the task's config dataclass.

Each field `foo_bar` becomes `--foo-bar`; booleans become `--foo-bar / --no-foo-bar`. `--preset NAME`
starts from a named preset, and explicit flags override it.
"""

import argparse
import dataclasses
import shlex
import sys
import typing


def _field_type(field):
    annotation = field.type
    if typing.get_origin(annotation) is typing.Union:  # Optional[X]
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation


def build_parser(config_cls, presets, description=None):
    parser = argparse.ArgumentParser(description=description or config_cls.__doc__)
    parser.add_argument("--preset", choices=sorted(presets), help="start from a named configuration")
    for field in dataclasses.fields(config_cls):
        flag = "--" + field.name.replace("_", "-")
        kind = _field_type(field)
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        else:
            parser.add_argument(flag, type=kind, default=None, metavar=kind.__name__.upper())
    return parser


def parse_config(config_cls, presets, argv=None):
    """The config named by `argv`: defaults, then the preset's values, then explicit flags."""
    args = build_parser(config_cls, presets).parse_args(argv)
    values = dict(presets[args.preset]) if args.preset else {}
    for field in dataclasses.fields(config_cls):
        value = getattr(args, field.name)
        if value is not None:
            values[field.name] = value
    return config_cls(**values)


def command_line(module, argv=None):
    """The exact command that ran, for model cards: `python -m <module> <flags>`."""
    argv = sys.argv[1:] if argv is None else argv
    return " ".join(["python", "-m", module] + [shlex.quote(arg) for arg in argv])
