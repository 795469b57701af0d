"""A worker process in production will not start with the shipped webhook secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_a_production_worker_exits_naming_webhook_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WEBHOOK_SECRET"}
    env.update(ICPFLOW_ENV="production", VAR_DIR=str(tmp_path))

    done = subprocess.run(
        [sys.executable, "-m", "cli", "worker"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stderr.startswith("error: refusing to start")
    assert "WEBHOOK_SECRET" in done.stderr
    assert "Traceback" not in done.stderr
