"""The benchmarks live in ``bench/`` at the repository root, which pytest does not put on
``sys.path`` under ``--import-mode=importlib``."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
