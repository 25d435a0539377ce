"""Relayout command line: the editor by default; sub-commands for scripted work.

    python main.py [IMAGE] [--labels LABELS.png]     open the editor (IMAGE may be a .relayout)
    python main.py <command> --help                  help for one command

Exit status: 0 success, 2 bad input (one-line message), 1 internal error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from inference.commands import OneLineArgumentParser

# Sub-command -> module exposing ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
# Modules are imported only when listed here; keep their top level free of heavy imports.
COMMANDS: dict[str, str] = {
    "edit": "inference.commands.edit",
    "parse": "inference.commands.parse",
    "bench": "training.bench.cli",
}

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2
SCREENSHOT_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")  # what Qt's image writer handles


def build_parser(command_modules: dict[str, object]) -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="main.py",
        description="Relayout: edit a photo by editing its semantic layout. "
        "Without a command, opens the editor.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in command_modules.items():
        sp = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sp)
    return parser


def _gui_argument_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(prog="main.py", description="Open the Relayout editor.")
    parser.add_argument("image", nargs="?", help="photo or .relayout project to open")
    parser.add_argument("--labels", help="label map of the photo (PNG)")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="render the editor offscreen (1400×900), save it, and exit")
    return parser


def run_gui(argv: list[str]) -> int:
    args = _gui_argument_parser().parse_args(argv)
    if args.labels and not args.image:
        print("error: --labels needs an IMAGE", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.labels and args.image.lower().endswith(".relayout"):
        print("error: --labels belongs to a photo; a .relayout project holds its own layouts",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.screenshot:
        from inference.paths import check_distinct, check_output_file

        check_output_file(args.screenshot, "--screenshot", SCREENSHOT_SUFFIXES)
        check_distinct({"IMAGE": args.image, "--labels": args.labels},
                       {"--screenshot": args.screenshot})
    from app.gui import run

    return run(args.image, args.labels, args.screenshot)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from inference.errors import BadInputError

    command_modules = {name: importlib.import_module(mod) for name, mod in COMMANDS.items()}
    wants_command = bool(argv) and (argv[0] in command_modules or argv[0] in ("-h", "--help"))
    try:
        if not wants_command:
            return run_gui(argv)
        args = build_parser(command_modules).parse_args(argv)
        return int(command_modules[args.command].run(args) or 0)
    except BadInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
