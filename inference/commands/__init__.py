"""Sub-commands of ``main.py`` that need only the engine."""
