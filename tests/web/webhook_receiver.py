"""A webhook receiver in its own process, for the tests: logs every request it gets (headers and
body, one JSON line each) and answers as told: `ok`; `fail-first N` (500 to each delivery's first
N attempts); `fail` (always 500); `hold FILE` (answer only once FILE exists: a slow receiver)."""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

port, log, mode, arg = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], (sys.argv[4:] or [""])[0]
attempts: dict[str, int] = {}


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        delivery = self.headers.get("JD-Delivery-Id", "")
        attempts[delivery] = attempts.get(delivery, 0) + 1
        record = {"headers": dict(self.headers), "body": body.decode(), "received": time.time()}
        with log.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if mode == "hold":
            while not Path(arg).exists():
                time.sleep(0.05)
        failing = mode == "fail" or (mode == "fail-first" and attempts[delivery] <= int(arg))
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
