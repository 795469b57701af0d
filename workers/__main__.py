"""``python -m workers``: a worker sized by WORKER_PROCESSES and WORKER_THREADS."""

from config.settings import get_settings
from workers.main import run_worker

if __name__ == "__main__":
    settings = get_settings()
    run_worker(settings, settings.worker_processes, settings.worker_threads)
