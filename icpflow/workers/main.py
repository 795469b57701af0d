"""Run Dramatiq's worker (its own process supervisor) on the icpflow actors and broker.

The worker processes are forked from this one, so they inherit its environment and therefore
the same settings as the web and scheduler processes started beside it.
"""

from __future__ import annotations

import os
import sys

ACTORS_MODULE = "icpflow.workers.actors"
# An idle consumer waits this long between polls of an empty queue. Dramatiq's default (1 s)
# alone would use up the 1 s commit-to-delivery budget; 100 ms costs Redis ten cheap calls a second.
IDLE_POLL_MS = "100"


def worker_arguments(processes: int, threads: int) -> list[str]:
    return [ACTORS_MODULE, "--processes", str(processes), "--threads", str(threads)]


def run_worker(processes: int, threads: int) -> None:
    """Consume until SIGTERM/SIGINT; exits the process with Dramatiq's status."""
    # Dramatiq reads the poll interval from the environment once, when first imported, and
    # its CLI offers no option for it: set it before that import.
    os.environ.setdefault("dramatiq_worker_timeout", IDLE_POLL_MS)
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    args = make_argument_parser().parse_args(worker_arguments(processes, threads))
    sys.exit(dramatiq_main(args))
