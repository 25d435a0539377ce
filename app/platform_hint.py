"""When Qt cannot start its platform plugin, say why and what to install, then exit cleanly.

On Linux, Qt's ``xcb`` plugin needs about twenty X11/XCB system libraries that a pip install
cannot bring. When one is missing (or no X display answers), Qt prints a hint that names only
``libxcb-cursor0`` and aborts the process. :func:`install` catches that fatal message, checks
which libraries actually fail to load here, and prints the Debian/Ubuntu packages to install.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from collections.abc import Callable

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

EXIT_PLATFORM = 1  # an environment problem, not bad input

# Every system library Qt 6's xcb plugin (libqxcb.so, libQt6XcbQpa.so.6) links against, with the
# Debian/Ubuntu package that ships it (read from the plugin's DT_NEEDED entries; Qt's own
# libraries and libc/libstdc++ left out).
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libGL.so.1": "libgl1",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def missing_libraries(load: Callable[[str], object] = ctypes.CDLL) -> list[str]:
    """The sonames of :data:`XCB_LIBRARIES` the dynamic loader cannot load here."""
    missing = []
    for soname in XCB_LIBRARIES:
        try:
            load(soname)
        except OSError:
            missing.append(soname)
    return missing


def platform_hint(plugin: str, missing: list[str], display: str | None) -> str:
    """The text printed instead of Qt's abort (several lines, starting with ``error:``)."""
    lines = [f"error: the editor window could not start: Qt's {plugin!r} platform plugin did "
             f"not load."]
    if missing:
        packages = " ".join(XCB_LIBRARIES[s] for s in missing)
        lines += [f"Missing system libraries: {', '.join(missing)}.",
                  f"On Debian/Ubuntu install them with:  sudo apt-get install {packages}"]
    elif not display:
        lines.append("No X display: DISPLAY is not set (on a server, use ssh -X or a virtual "
                     "display such as Xvfb).")
    else:
        lines.append(f"The X display {display} could not be reached, or a library failed.")
    lines += ["All the packages Qt's xcb plugin needs (Debian/Ubuntu): sudo apt-get install "
              + " ".join(XCB_LIBRARIES.values()),
              "Without a display the editor still renders: "
              "python main.py PHOTO --screenshot OUT.png"]
    return "\n".join(lines)


_plugin = ["xcb"]  # the plugin Qt last said it could not load


def _handler(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    named = re.search(r'platform plugin "([^"]+)"', message)
    if named:
        _plugin[0] = named.group(1)
    if kind == QtMsgType.QtFatalMsg and "platform plugin" in message:
        missing = missing_libraries() if sys.platform.startswith("linux") else []
        plugin = os.environ.get("QT_QPA_PLATFORM") or _plugin[0]
        print(platform_hint(plugin, missing, os.environ.get("DISPLAY")), file=sys.stderr)
        sys.stderr.flush()
        os._exit(EXIT_PLATFORM)  # Qt would abort() right after this handler returns
    if kind != QtMsgType.QtDebugMsg:
        print(message, file=sys.stderr)


def install() -> None:
    """Watch Qt's messages while the application starts (call before ``QApplication``)."""
    qInstallMessageHandler(_handler)


def uninstall() -> None:
    """Back to Qt's own message output once the platform plugin is up."""
    qInstallMessageHandler(None)
