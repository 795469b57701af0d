"""Log channel: the default route, so reminders stay visible before any real channel is set up."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from config.settings import Settings
from workers.channels import DeliveryFailed, OutgoingMessage
from workflow.domain.definition import Channel as ChannelName

logger = logging.getLogger("icpflow.notifications")
_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT


class LogChannel:
    """One JSON line per message, to ``notify_log_file`` when set, else to the logger."""

    name = ChannelName.LOG

    def __init__(self, settings: Settings) -> None:
        self._path = settings.notify_log_file

    def send(self, message: OutgoingMessage) -> None:
        record = {
            "logged_at": datetime.now(UTC).isoformat(),
            "recipient": message.recipient,
            **message.as_document(),
        }
        line = json.dumps(record, ensure_ascii=False, sort_keys=True)
        if self._path is None:
            logger.info(line)
            return
        try:
            _append(self._path, (line + "\n").encode())
        except OSError as exc:
            raise DeliveryFailed(f"cannot append to {self._path}: {exc}") from exc


def _append(path: Path, data: bytes) -> None:
    """A single ``write`` on an ``O_APPEND`` descriptor is placed atomically at the end of a local
    file, so several worker processes can share it without interleaving lines. Once written, the
    line survives the process; like the SQLite default (WAL, ``synchronous=NORMAL``) it is not
    fsynced per message, which would serialise every delivery on the disk. The directory is
    made only when the file cannot be opened without it: making sure of it before every line
    cost two more system calls a delivery (bench/notifications.py)."""
    try:
        fd = os.open(path, _APPEND_FLAGS, 0o640)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, _APPEND_FLAGS, 0o640)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write: {written} of {len(data)} bytes")
    finally:
        os.close(fd)
