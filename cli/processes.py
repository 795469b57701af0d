"""The long-running processes: what the Procfile runs, and ``up``/``demo`` for one machine."""

from __future__ import annotations

import typer

from cli.output import whole_number
from config.settings import get_settings


def web(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(
        None, parser=whole_number(1, 65535), help="Port (default: the PORT setting, 8000)."
    ),
    workers: int = typer.Option(1, parser=whole_number(1), help="Web worker processes."),
) -> None:
    """Serve the REST API, the ops pages and /metrics."""
    import uvicorn

    uvicorn.run(
        "web.app:serve_app",
        factory=True,
        log_config=None,  # the app configures logging (JSON lines) in each process
        host=host,
        port=port or get_settings().port,
        workers=workers,
    )


def worker(
    processes: int = typer.Option(None, help="Worker processes (default: WORKER_PROCESSES)."),
    threads: int = typer.Option(None, help="Threads per process (default: WORKER_THREADS)."),
) -> None:
    """Deliver notifications and check site footers: a Dramatiq worker on the configured
    broker."""
    from workers.main import run_worker

    settings = get_settings()
    run_worker(settings, processes or settings.worker_processes, threads or settings.worker_threads)


def scheduler() -> None:
    """Sweep deadlines and relay the outbox; several may run, exactly one is active."""
    from scheduler.main import run_scheduler

    run_scheduler(get_settings())


def up(host: str = typer.Option("127.0.0.1", help="Interface the API listens on.")) -> None:
    """Run the whole system on this machine: migrations, embedded Redis, web, worker, scheduler."""
    from cli.supervisor import run_up

    run_up(get_settings(), host)


def demo(
    weeks: int = typer.Option(7, parser=whole_number(1, 52), help="Simulated weeks to run."),
) -> None:
    """Drive sample filings through weeks of simulated time and show what fires when."""
    from cli.demo import run_demo

    run_demo(weeks)


COMMANDS = (web, worker, scheduler, up, demo)
