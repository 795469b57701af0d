"""The scheduler: one active leader runs the deadline and outbox relay sweeps."""

from scheduler.leader import LeaderLock
from scheduler.main import run_scheduler

__all__ = ["LeaderLock", "run_scheduler"]
