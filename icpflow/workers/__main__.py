"""``python -m icpflow.workers``: a worker sized by WORKER_PROCESSES and WORKER_THREADS."""

from icpflow.settings import get_settings
from icpflow.workers.main import run_worker

if __name__ == "__main__":
    settings = get_settings()
    run_worker(settings.worker_processes, settings.worker_threads)
