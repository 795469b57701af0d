"""``python -m workers``: a worker sized by WORKER_PROCESSES and WORKER_THREADS."""

from config.settings import get_settings
from workers.main import run_worker
from workflow.startup import refuse_unsafe_settings

if __name__ == "__main__":
    settings = get_settings()
    refuse_unsafe_settings(settings)
    run_worker(settings, settings.worker_processes, settings.worker_threads)
