"""``python -m scheduler``: the scheduler process without the CLI around it."""

from config.settings import get_settings
from scheduler.main import run_scheduler

if __name__ == "__main__":
    run_scheduler(get_settings())
