"""Schemathesis against the app's own OpenAPI, on a real server: whatever it sends that the
document allows (and much it does not), the server never answers 5xx. A short run here; the
long one is `make bench` (`fuzz_requests`, `fuzz_5xx`)."""

from tests.web.conftest import AUTH, start_server
from tests.web.fuzzing import fuzz
from web.redis_server import free_port

EXAMPLES = 6  # per operation: a few hundred requests, well within the test budget


def test_no_request_gets_a_server_error(redis_server) -> None:
    port = free_port()
    proc = start_server(redis_server.url, port, f"fuzz{port}")
    try:
        run = fuzz(f"http://127.0.0.1:{port}", AUTH, EXAMPLES)
    finally:
        proc.terminate()
        proc.wait(30)
    assert run.requests >= 100, run
    assert not run.server_errors, "\n".join(run.server_errors)
