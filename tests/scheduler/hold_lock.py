"""Holds the scheduler's leader lock in a process of its own, for the leader-lock tests.

Prints ``acquired`` or ``refused``; on a ``release`` line from stdin releases the lock and
prints ``released``; exits at end of input (or when killed, which is the point).
"""

from __future__ import annotations

import sys
from pathlib import Path

from scheduler.leader import LeaderLock


def main(url: str, var_dir: str) -> None:
    lock = LeaderLock.for_url(url, Path(var_dir))
    print("acquired" if lock.try_acquire() else "refused", flush=True)
    for line in sys.stdin:
        if line.strip() == "release":
            lock.release()
            print("released", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
