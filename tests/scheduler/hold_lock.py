"""Holds the scheduler's leader lock in a process of its own, for the leader-lock tests.

Prints ``acquired`` or ``refused``; on a ``release`` line from stdin releases the lock and
prints ``released``; on a ``check`` line checks it and prints ``held`` or ``lost``; exits at
end of input (or when killed, which is the point). Given a number of seconds after the
database, it also checks the lock that often in a thread of its own, as a live leader does.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from scheduler.leader import LeaderLock

# The holder is the first to take the lock in every test: it never takes it over.
NEVER_TAKES_OVER = 3600.0


def main(url: str, var_dir: str, check_every: float | None) -> None:
    lock = LeaderLock.for_url(url, Path(var_dir), NEVER_TAKES_OVER)
    print("acquired" if lock.try_acquire() else "refused", flush=True)
    if check_every is not None:
        threading.Thread(target=_keep_checking, args=(lock, check_every), daemon=True).start()
    for line in sys.stdin:
        command = line.strip()
        if command == "release":
            lock.release()
            print("released", flush=True)
        elif command == "check":
            print("held" if lock.still_held() else "lost", flush=True)


def _keep_checking(lock: LeaderLock, every: float) -> None:
    while True:
        time.sleep(every)
        lock.still_held()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else None)
