"""Run Dramatiq's worker (its own process supervisor) on the icpflow actors and broker.

The worker processes are forked from this one, so they inherit its environment and therefore
the same settings as the web and scheduler processes started beside it.
"""

from __future__ import annotations

import sys

from dramatiq.cli import main as dramatiq_main
from dramatiq.cli import make_argument_parser

ACTORS_MODULE = "workers.actors"


def worker_arguments(processes: int, threads: int) -> list[str]:
    return [ACTORS_MODULE, "--processes", str(processes), "--threads", str(threads)]


def run_worker(processes: int, threads: int) -> None:
    """Consume until SIGTERM/SIGINT; exits the process with Dramatiq's status."""
    args = make_argument_parser().parse_args(worker_arguments(processes, threads))
    sys.exit(dramatiq_main(args))
