"""Logs as JSON lines, the same for the web, worker and scheduler processes.

Each line carries what the code had bound when it logged: the request id in the web process,
the filing, event and actor inside the service, so one grep for a request id (it is in the
``X-Request-ID`` header and every error body) finds everything that request did. Lines from
libraries that log through the standard library (uvicorn, Dramatiq, APScheduler) come out in
the same form. Whatever a line says, a mobile or identity number in it is masked
(``config.masking``): logs are copied to places the database's protection never reaches.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from config.masking import mask_shaped

# Their bookkeeping would drown ours at short intervals: only their warnings pass.
_NOISY = ("apscheduler", "transitions")

_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def mask_personal_data(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Mask every mobile and identity number in the line's values, its traceback included."""
    return {key: _masked(value) for key, value in event.items()}


def _masked(value: object) -> object:
    if isinstance(value, str):
        return mask_shaped(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (stderr) as one JSON object per line."""
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                mask_personal_data,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
