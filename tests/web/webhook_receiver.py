"""A webhook receiver in its own process, for the tests: logs every request it gets (headers and
body, one JSON line each, with how many requests it had open then) and answers as told: `ok`;
`fail-first N` (500 to each delivery's first N attempts); `fail` (always 500); `hold FILE` (answer
only once FILE exists: a slow receiver); `big MB` (200 with a reply body of MB megabytes); `drip`
(the answer a byte every 3 s, never ending); `redirect URL` (302 to URL)."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

port, log, mode, arg = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], (sys.argv[4:] or [""])[0]
attempts: dict[str, int] = {}
open_now = [0]
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        delivery = self.headers.get("JD-Delivery-Id", "")
        with lock:
            attempts[delivery] = attempts.get(delivery, 0) + 1
            open_now[0] += 1
            record = {"headers": dict(self.headers), "body": body.decode(), "received": time.time(),
                      "open": open_now[0]}
            with log.open("a") as f:
                f.write(json.dumps(record) + "\n")
        try:
            self.answer(delivery)
        except OSError:
            pass  # the sender hung up (as it should on a huge or endless reply)
        finally:
            with lock:
                open_now[0] -= 1

    def answer(self, delivery: str) -> None:
        if mode == "big":
            self.send_response(200)
            self.send_header("Content-Length", str(int(float(arg) * 2**20)))
            self.end_headers()
            chunk, sent = b"x" * 2**20, 0
            try:
                for _ in range(int(float(arg))):
                    self.wfile.write(chunk)
                    sent += len(chunk)
            finally:  # how much of it went before the sender hung up
                with lock, log.with_suffix(".sent").open("a") as f:
                    f.write(f"{sent}\n")
            return
        if mode == "drip":  # the answer's first line and then a header, a byte every 3 s, never done
            for byte in b"HTTP/1.1 200 OK\r\nX-Drip: " + b"x" * 10**6:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(3)
            return
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", arg)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
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
