"""``python -m icpflow.scheduler``: the scheduler process without the CLI around it."""

from icpflow.scheduler.main import run_scheduler
from icpflow.settings import get_settings

if __name__ == "__main__":
    run_scheduler(get_settings())
