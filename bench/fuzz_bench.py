"""The long schemathesis run: every operation of the app's OpenAPI against a real server (on its
own Redis) until at least 5,000 requests are made; `fuzz_requests` and `fuzz_5xx` (0 is the
target), with the first server errors printed to fix."""

import tempfile
from pathlib import Path

from tests.web.conftest import AUTH, start_server
from tests.web.fuzzing import fuzz
from web.redis_server import RedisServer, free_port

EXAMPLES = 120  # per operation (fewer where an operation has fewer distinct cases): >= 5,000 in all


def run() -> dict[str, float | str]:
    with tempfile.TemporaryDirectory() as folder:
        redis = RedisServer(Path(folder)).start()
        port = free_port()
        proc = start_server(redis.url, port, "fuzz")
        try:
            result = fuzz(f"http://127.0.0.1:{port}", AUTH, EXAMPLES, seed=1)
        finally:
            proc.terminate()
            proc.wait(30)
            redis.stop()
    for line in result.server_errors[:10]:
        print("5xx:", line)
    return {"fuzz_requests": result.requests, "fuzz_5xx": len(result.server_errors),
            "fuzz_4xx": sum(n for s, n in result.by_status.items() if 400 <= s < 500)}
