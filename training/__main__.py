"""``python -m training <command>``: the training package's command line.

Exit status: 0 success, 2 bad input (one-line message), 1 internal error.
"""

from __future__ import annotations

import importlib
import sys

from inference.commands import OneLineArgumentParser

# Command -> module exposing ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, str] = {
    "synth": "training.synth.cli",
    "evaluate": "training.evaluation.cli",
    "export": "training.export",
    "label": "training.label",
    "correspondence": "training.trainers.correspondence",
    "generator": "training.trainers.generator",
}


def main(argv: list[str] | None = None) -> int:
    from inference.errors import BadInputError

    modules = {name: importlib.import_module(mod) for name, mod in COMMANDS.items()}
    parser = OneLineArgumentParser(prog="python -m training",
                                   description="Relayout training package.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in modules.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.HELP))
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except BadInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
