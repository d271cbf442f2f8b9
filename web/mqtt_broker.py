"""Starting a private MQTT broker (Debian's mosquitto) for the one-command demo and for tests,
and keeping its per-gateway password file and access list.

Each home gateway logs in as its own user (its gateway id) and may publish only under its own
topics, `homes/<gateway>/<device>/<alarm|heartbeat|battery>`, and read only its own error topic
`homes/<gateway>/errors`; the coordinator logs in as `jointdispatch`, reads every home's topics
and writes the error topics. Passwords are hashed by `mosquitto_passwd`, never kept in clear
except the coordinator's own (readable by its owner only). A broker of your own is used instead
by setting JD_MQTT_URL (mqtt://user:password@host:port) and giving it the same access list."""

import contextlib
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from web.redis_server import _ends_with_this_thread, end_child, free_port

APP_USER = "jointdispatch"
ACL = f"""# written by jointdispatch: gateways publish only under their own id, read only their errors
user {APP_USER}
topic read homes/#
topic write homes/+/errors

pattern write homes/%u/+/+
pattern read homes/%u/errors
"""


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise RuntimeError(f"{name} is not installed; run `make deps` (Debian package mosquitto)")
    return found


class GatewayPasswords:
    """The broker's password file: one user per gateway, plus the coordinator's."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).resolve()
        self.passwd = self.folder / "passwd"
        self.acl = self.folder / "acl"
        self.app_secret = self.folder / "app-password"

    def prepare(self) -> str:
        """The folder, its access list and the coordinator's own user; returns its password."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.acl.write_text(ACL, encoding="utf-8")
        if not self.app_secret.exists():
            self.app_secret.touch(mode=0o600)
            self.app_secret.write_text(secrets.token_urlsafe(24), encoding="utf-8")
        password = self.app_secret.read_text(encoding="utf-8").strip()
        self.set(APP_USER, password)
        return password

    def set(self, user: str, password: str) -> None:
        if not user or any(c in user for c in ":/#+ "):
            raise ValueError(f"gateway id {user!r} cannot be an MQTT user name (no : / # + or space)")
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [_binary("mosquitto_passwd"), "-b"]
        if not self.passwd.exists():
            self.passwd.touch(mode=0o600)
        subprocess.run([*args, str(self.passwd), user, password], check=True, capture_output=True)

    def kept_for_demo(self, gateway_ids: list[str]) -> Path:
        """Passwords for the demo's gateways, each kept in `gateways/<id>` (owner-only) so the
        README's mosquitto_pub line can read it; a production broker keeps no clear password."""
        kept = self.folder / "gateways"
        kept.mkdir(mode=0o700, parents=True, exist_ok=True)
        for gateway_id in gateway_ids:
            path = kept / gateway_id
            if not path.exists():
                path.touch(mode=0o600)
                path.write_text(secrets.token_urlsafe(18), encoding="utf-8")
            self.set(gateway_id, path.read_text(encoding="utf-8").strip())
        return kept

    def add_gateway(self, gateway_id: str) -> str:
        """A new password for the gateway (printed once by the CLI); a running broker reads it
        on SIGHUP, which `MosquittoBroker.reload` sends."""
        password = secrets.token_urlsafe(18)
        self.set(gateway_id, password)
        return password


class MosquittoBroker:
    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.passwords = GatewayPasswords(folder)
        self.folder = self.passwords.folder
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.app_password = ""

    @property
    def pid_file(self) -> Path:
        return self.folder / "mosquitto.pid"

    @property
    def url(self) -> str:
        return f"mqtt://{APP_USER}:{quote(self.app_password, safe='')}@127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> "MosquittoBroker":
        self.app_password = self.passwords.prepare()
        conf = self.folder / "mosquitto.conf"
        conf.write_text("\n".join([
            "# written by jointdispatch at each start",
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {self.passwords.passwd}",
            f"acl_file {self.passwords.acl}",
            "persistence false",
            # run as whoever started it (root on a bare machine), so it reads the 0600 files here
            f"user {_user()}",
            f"log_dest file {self.folder / 'mosquitto.log'}",
            f"pid_file {self.pid_file}",
            "max_queued_messages 100000",
            "",
        ]), encoding="utf-8")
        self.process = subprocess.Popen([_binary("mosquitto"), "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, preexec_fn=_ends_with_this_thread())
        try:
            self._wait_until_up(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_up(self, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited; see {self.folder / 'mosquitto.log'}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen within {timeout_s} s")

    def reload(self) -> None:
        """Re-read the password file and access list (a gateway added while it runs)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        end_child(self.process)

    def __enter__(self) -> "MosquittoBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _user() -> str:
    import os
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def reload_running(folder: Path) -> bool:
    """SIGHUP the private broker a running `serve` started on this folder, if there is one."""
    import os

    pid_file = Path(folder) / "mosquitto.pid"
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    except (OSError, ValueError):
        return False
    return True
