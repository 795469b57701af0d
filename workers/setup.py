"""The worker's broker: built from the settings, with every job's actor declared on it.

``icpflow worker`` hands Dramatiq's CLI ``workers.setup:use_worker_broker`` as its broker
argument: Dramatiq calls it in each worker process it forks, then consumes from the broker it
made global. Importing this module builds nothing.
"""

from __future__ import annotations

import logging

import dramatiq

from config.logs import configure_logging
from config.settings import Settings, get_settings
from models import create_db_engine
from workers.actors import declare_actors
from workers.broker import build_broker
from workers.channels import DeliveryFailed, PermanentDeliveryFailure

# What Dramatiq's CLI is told to call for its broker (``module:callable``).
WORKER_BROKER = "workers.setup:use_worker_broker"


def build_worker_broker(settings: Settings) -> dramatiq.Broker:
    """The broker ``settings`` name, with the actors declared on it."""
    broker = build_broker(settings)
    url = settings.effective_database_url
    engine = create_db_engine(url, pool_size=settings.worker_threads)  # a connection per thread
    declare_actors(broker, settings, engine, create_db_engine(url, autocommit=True))
    return broker


class ExpectedDeliveryFailures(logging.Filter):
    """A peer refusing a delivery is expected: the actor noted why, and Dramatiq retries it or
    the final failure is recorded for ops. Dramatiq's worker logs it as an unhandled exception,
    at ERROR, with a traceback; this makes it one WARNING line naming the failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        failure = record.exc_info[1] if record.exc_info else None
        if isinstance(failure, DeliveryFailed | PermanentDeliveryFailure):
            said = record.getMessage().replace("unhandled exception", "a delivery failure")
            record.msg, record.args = f"{said} {type(failure).__name__}: {failure}", ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


_EXPECTED_FAILURES = ExpectedDeliveryFailures()


def use_worker_broker() -> None:
    """Make the worker's broker Dramatiq's global one (what its CLI consumes from); the
    worker process logs as the others do from here on (Dramatiq set up its own format)."""
    configure_logging()
    logging.getLogger("dramatiq.worker.WorkerThread").addFilter(_EXPECTED_FAILURES)
    dramatiq.set_broker(build_worker_broker(get_settings()))
