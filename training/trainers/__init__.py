"""The two training stages (``python -m training correspondence`` / ``generator``) and the
plumbing they share: distributed set-up, resumable checkpoints, logs and image grids."""
