"""Sub-commands of ``main.py`` that need only the engine, and the argument parser they share."""

from __future__ import annotations

import argparse
import sys


class OneLineArgumentParser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit status 2, like every other bad input."""

    def error(self, message: str):
        print(f"error: {self.prog}: {message} (see --help)", file=sys.stderr)
        sys.exit(2)
