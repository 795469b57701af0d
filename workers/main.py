"""Run Dramatiq's worker (its own process supervisor) on the icpflow actors and broker.

The worker processes are forked from this one, so they inherit its environment and therefore
the same settings as the web and scheduler processes started beside it. Without ``REDIS_URL``
this process attaches to the embedded Redis or starts it, and then stops it when Dramatiq has
stopped its workers.
"""

from __future__ import annotations

import os
import sys

from dramatiq.cli import main as dramatiq_main
from dramatiq.cli import make_argument_parser

from config.settings import Settings, get_settings
from workers.embedded_redis import serving
from workers.setup import WORKER_BROKER
from workflow.startup import check_settings


def worker_arguments(processes: int, threads: int, broker: str = WORKER_BROKER) -> list[str]:
    return [broker, "--processes", str(processes), "--threads", str(threads)]


def run_worker(settings: Settings, processes: int, threads: int) -> None:
    """Consume until SIGTERM/SIGINT; exits the process with Dramatiq's status."""
    check_settings(settings)
    args = make_argument_parser().parse_args(worker_arguments(processes, threads))
    with serving(settings) as served:
        if served.redis_url != settings.redis_url:
            # The forked worker processes read their settings anew from the environment.
            os.environ["REDIS_URL"] = served.redis_url
            get_settings.cache_clear()
        code = dramatiq_main(args)
    sys.exit(code)
