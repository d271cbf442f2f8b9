"""`jointdispatch serve` without REDIS_URL stops the Redis it started however it is stopped
(SIGTERM as systemd and `kill` send, SIGINT as Ctrl-C, even SIGKILL), and a start on a data
folder that a running Redis still holds says so in one line and exits 2."""

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from web.redis_server import LOCK_FILE, RedisServer, free_port


def serve_command(data_dir: Path, port: int) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "JD_REDIS_URL")}
    env.update(JD_DATA_DIR=str(data_dir), JD_PORT=str(port), JD_CITY_SCALE="0.15", JD_DEMO_MOTION="0",
               JD_DEMO_SUPERVISOR="false")
    return [sys.executable, "-m", "web.cli", "serve"], env


def start_serving(data_dir: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    command, env = serve_command(data_dir, port)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "serve exited")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not answer /healthz")


def redis_servers_in(folder: Path) -> list[int]:
    """Live redis-server processes working in `folder`: redis-server rewrites its command line
    but changes into its --dir, so its working directory is what tells."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == "redis-server" and \
                    Path(os.readlink(proc / "cwd")) == folder.resolve():
                found.append(int(proc.name))
        except OSError:  # gone meanwhile, or a zombie without a working directory
            continue
    return found


def folder_is_free(folder: Path) -> bool:
    with open(folder / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(lock, fcntl.LOCK_UN)
        return True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_serve_and_the_redis_it_started(tmp_path: Path, signum: int) -> None:
    proc = start_serving(tmp_path)
    try:
        assert len(redis_servers_in(tmp_path / "redis")) == 1
        proc.send_signal(signum)
        assert proc.wait(15) == -signum  # ended by the signal it was sent, after cleaning up
    finally:
        proc.kill()
    assert redis_servers_in(tmp_path / "redis") == []
    assert folder_is_free(tmp_path / "redis")
    assert not (tmp_path / "serving.json").exists()


def test_serve_killed_outright_takes_its_redis_along(tmp_path: Path) -> None:
    proc = start_serving(tmp_path)
    proc.send_signal(signal.SIGKILL)  # no clean-up runs: the kernel tells redis-server
    proc.wait(15)
    deadline = time.monotonic() + 10
    while redis_servers_in(tmp_path / "redis") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert redis_servers_in(tmp_path / "redis") == []


def test_a_start_on_a_folder_a_running_redis_holds_says_whose_in_one_line_and_exits_2(
        tmp_path: Path) -> None:
    # Held by a redis-server whose starter is of no account: the lock is the server's own.
    with RedisServer(tmp_path / "redis") as holder:
        assert holder.process is not None
        command, env = serve_command(tmp_path, free_port())
        refused = subprocess.run(command, env=env, capture_output=True, timeout=30)
        assert refused.returncode == 2
        said = (refused.stdout + refused.stderr).decode().strip().splitlines()
        assert said == [f"data folder {(tmp_path / 'redis').resolve()} is in use by redis-server pid "
                        f"{holder.process.pid} (port {holder.port}); stop it or set JD_DATA_DIR"]
        assert redis_servers_in(tmp_path / "redis") == [holder.process.pid]  # and it was left alone
