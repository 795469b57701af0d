"""How the worker logs a delivery a peer refused: expected, so a warning, not a crash."""

from __future__ import annotations

import logging

import pytest

from workers.channels import DeliveryFailed
from workers.setup import ExpectedDeliveryFailures


@pytest.mark.parametrize(
    ("failure", "level"),
    [(DeliveryFailed("webhook answered 503"), "WARNING"), (KeyError("bug"), "ERROR")],
    ids=["a refused delivery", "a bug"],
)
def test_only_a_refused_delivery_is_logged_as_a_warning_without_a_traceback(
    caplog: pytest.LogCaptureFixture, failure: Exception, level: str
) -> None:
    worker_log = logging.getLogger("dramatiq.worker.WorkerThread")  # what Dramatiq logs to
    expected = ExpectedDeliveryFailures()
    worker_log.addFilter(expected)
    try:
        try:
            raise failure
        except Exception:
            worker_log.error("Failed to process message %s with unhandled exception.", "m1", exc_info=True)  # fmt: skip
    finally:
        worker_log.removeFilter(expected)

    [record] = caplog.records
    assert (record.levelname, record.exc_info is None) == (level, level == "WARNING")
    if level == "WARNING":
        assert record.getMessage() == (
            "Failed to process message m1 with a delivery failure. "
            "DeliveryFailed: webhook answered 503"
        )
