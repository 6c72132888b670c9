"""Shared test settings: headless matplotlib and quiet progress bars."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
