"""``python -m cli`` is the ``icpflow`` command."""

from cli.main import app

app()
