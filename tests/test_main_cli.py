from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import main

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_help_lists_every_registered_command():
    proc = _run("--help")
    assert proc.returncode == 0
    for name in main.COMMANDS:
        assert name in proc.stdout


def test_unknown_option_is_usage_error():
    proc = _run("--no-such-option")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_bad_input_error_maps_to_exit_2(monkeypatch, capsys):
    from inference.errors import LabelMapError

    class Boom:
        HELP = "fails on purpose"

        @staticmethod
        def add_arguments(parser):
            parser.add_argument("--x")

        @staticmethod
        def run(args):
            raise LabelMapError("label value 200 at (x=1, y=2) is outside 0..150")

    monkeypatch.setitem(main.COMMANDS, "boom", "boom_module")
    monkeypatch.setitem(sys.modules, "boom_module", Boom)
    assert main.main(["boom", "--x", "1"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: label value 200 at (x=1, y=2) is outside 0..150"
