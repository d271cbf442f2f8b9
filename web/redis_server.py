"""Starting a private Redis server for the one-command demo and for tests, one per data folder.

Debian's `redis-server` is used (installed by `make`): a real server, the same binary a control
room would run. Persistence is append-only with fsync on every write, because an API answer
promises that the event is durable.

Two servers on one data folder would write one append-only file from two sides. The folder's
lock file is locked (flock) and the lock handed to the redis-server it starts, which holds it for
exactly as long as it runs, whoever started it and whatever became of them; the file names that
server's pid and port for whoever finds it locked. The server also ends when the thread that
started it does (PR_SET_PDEATHSIG), so a parent killed outright leaves no Redis behind."""

import contextlib
import ctypes
import fcntl
import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

import redis

LOCK_FILE = "redis.lock"


class DataFolderInUse(RuntimeError):
    """Another redis-server still runs on the data folder: starting a second one is refused."""

    def __init__(self, data_dir: Path, pid: int | None, port: int | None) -> None:
        holder = f"redis-server pid {pid} (port {port})" if pid else "a redis-server that is starting"
        super().__init__(f"data folder {data_dir} is in use by {holder}")
        self.data_dir, self.pid, self.port = data_dir, pid, port


class RedisServer:
    def __init__(self, data_dir: Path, port: int | None = None, fsync: str = "always",
                 extra_args: Sequence[str] = ()) -> None:
        # absolute: redis-server changes into --dir before it opens --logfile
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.fsync = fsync
        # a replica's `--replicaof`, a primary's `--min-replicas-to-write`: see web/redis_sentinel.py
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; run `make deps` (Debian package)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._locked_folder() as lock:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
                 "--appendonly", "yes", "--appendfsync", self.fsync, "--save", "",
                 "--protected-mode", "yes", "--logfile", str(self.data_dir / "redis.log"),
                 *self.extra_args],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(lock.fileno(),), preexec_fn=_ends_with_this_thread(),
            )
            lock.truncate(0)
            lock.write(json.dumps({"pid": self.process.pid, "port": self.port}))
            lock.flush()
        try:
            self._wait_until_up(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    @contextlib.contextmanager
    def _locked_folder(self) -> Iterator[TextIO]:
        """The folder's lock, held while the server is started; it then stays with the server."""
        path = self.data_dir / LOCK_FILE
        with open(path, "a+", encoding="utf-8") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.seek(0)
                try:
                    holder = json.loads(lock.read())
                except ValueError:  # locked before its server was started: nothing written yet
                    holder = {}
                raise DataFolderInUse(self.data_dir, holder.get("pid"), holder.get("port")) from None
            yield lock

    def _wait_until_up(self, timeout_s: float) -> None:
        assert self.process is not None
        wait_for_ping(self.port, self.process, self.data_dir / "redis.log", timeout_s)

    def stop(self) -> None:
        end_child(self.process)  # reaped: the folder's lock is free once this returns

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ends_with_this_thread() -> Callable[[], None] | None:
    """What the child runs before redis-server: ask Linux to send it SIGTERM when the thread
    starting it ends. The kernel ties this to the thread, not the process, so it is asked only
    from the main thread, whose end is the process's; elsewhere the lock still tells of an
    orphan."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


def wait_for_ping(port: int, process: "subprocess.Popen[bytes]", log: Path, timeout_s: float = 10.0) -> None:
    """Until the redis-server (or sentinel) just started on `port` answers; its log is named if
    it exits instead."""
    deadline = time.monotonic() + timeout_s
    client = redis.Redis(port=port)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited; see {log}")
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server on port {port} did not answer within {timeout_s} s")


def end_child(process: "subprocess.Popen[bytes] | None", grace_s: float = 5.0) -> None:
    """Stop a server this process started: asked to end, then killed after `grace_s`, and
    always reaped, so its port and files are free when this returns."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
