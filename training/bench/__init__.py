"""``python main.py bench``: speed, memory and warp quality of every warp backend.

:mod:`.cases` builds the known-correspondence set, :mod:`.runner` runs one backend × resolution ×
device job in its own process, :mod:`.report` writes the markdown table and the JSON rows, and
:mod:`.cli` is the command.
"""
