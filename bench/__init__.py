"""Benchmarks for the bars in docs/SPEC.md: each bar is a ratio measured in one run, so results
compare like with like on whatever machine runs them (``python -m bench``)."""

from typing import Literal

# full: the sizes the bars name; quick: smaller tables for CI; tiny: only proves the code runs.
Scale = Literal["full", "quick", "tiny"]
