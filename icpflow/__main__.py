"""``python -m icpflow`` is the ``icpflow`` command."""

from icpflow.cli.main import app

app()
