"""Command-line flags from a task's config dataclass: one flag per field, the same convention for every task.

Each field `foo_bar` becomes `--foo-bar`, and a field of a section (`data`, `optimizer`, `export`) also
answers to its path, `--optimizer.learning-rate` beside `--learning-rate`. Booleans become
`--foo-bar / --no-foo-bar`. `--preset NAME` starts from a named preset, and explicit flags override it.
"""

import argparse
import shlex
import sys

from zoo.config import choices, field_paths, field_type, from_dict, leaf_fields


def _flag(name):
    return "--" + name.replace("_", "-")


def build_parser(config_cls, presets, description=None):
    parser = argparse.ArgumentParser(description=description or (config_cls.__doc__ or "").split("\n")[0])
    parser.add_argument("--preset", choices=sorted(presets), help="start from a named configuration")
    fields = leaf_fields(config_cls)
    for name, path in field_paths(config_cls).items():
        kind = field_type(fields[path])
        flags = [_flag(name)] + ([_flag(path)] if path != name else [])
        if kind is bool:
            parser.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction, default=None)
        else:
            allowed = choices(fields[path])
            metavar = "{" + ",".join(map(str, allowed)) + "}" if allowed else kind.__name__.upper()
            parser.add_argument(*flags, dest=name, type=kind, default=None, metavar=metavar)
    return parser


def parse_config(config_cls, presets, argv=None):
    """The config named by `argv`: defaults, then the preset's values, then explicit flags."""
    return config_from_args(config_cls, presets, build_parser(config_cls, presets).parse_args(argv))


def config_from_args(config_cls, presets, args):
    """The config of parsed `args` (from `build_parser`): defaults, the preset's values, explicit flags."""
    values = dict(presets[args.preset]) if args.preset else {}
    for name in field_paths(config_cls):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    return from_dict(config_cls, values)


def command_line(module, argv=None):
    """The exact command that ran, for model cards: `python -m <module> <flags>`."""
    argv = sys.argv[1:] if argv is None else argv
    return " ".join(["python", "-m", module] + [shlex.quote(arg) for arg in argv])
