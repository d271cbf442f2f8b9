"""Failover of the replicated log: `ha_failover_s` (primary `kill -9` while calls arrive at about
200 a second -> the first call acknowledged again; median over the failovers) and
`ha_acked_lost` (acknowledged calls missing from the log afterwards, summed over every failover
and over a SIGSTOP of the primary longer than the sentinels' down-after time).

Calls go through the service (decide, append with WAIT) on the demo rules, the way the API's
handler sends them, without HTTP in between so the figure is the log's and not the server's."""

import asyncio
import os
import signal
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from redis.exceptions import RedisError

from dispatch.clock import SystemClock
from dispatch.decide import ReceiveCall
from dispatch.event_log import LogRewound, NotReplicated
from dispatch.plans import ResponsePlans
from dispatch.service import DispatchService
from web.bootstrap import rules_from
from web.redis_client import connect, log_store
from web.redis_sentinel import ReplicatedRedis
from web.settings import Settings

FAILOVERS = 10
RATE_PER_S = 200


async def _through(log: ReplicatedRedis, stop_primary: str, namespace: str) -> tuple[float, int]:
    """One fault; returns (seconds from the fault to the next acknowledged call, acked lost)."""
    settings = Settings()
    client = connect(log.url)
    service = DispatchService(log_store(client, log.url, namespace),
                              rules_from(settings, ResponsePlans.load(settings.plans_file)), SystemClock())
    await service.start()
    acked: set[str] = set()
    fault_at: float | None = None
    back_at: float | None = None
    n = 0
    old = log.primary()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        started = time.monotonic()
        if fault_at is None and n == RATE_PER_S:  # a second of calls, then the fault
            assert old.process is not None
            os.kill(old.process.pid, signal.SIGKILL if stop_primary == "kill" else signal.SIGSTOP)
            fault_at = time.monotonic()
        key = f"{namespace}-{n}"
        try:
            await service.execute(ReceiveCall(
                hotline="110", received_at=datetime.now(UTC), kind="theft", text=key,
                idempotency_key=key, received_at_told=False))
            acked.add(key)
            n += 1
            if fault_at is not None and back_at is None:
                back_at = time.monotonic()
            if back_at is not None and n > 2 * RATE_PER_S:
                break
        except (NotReplicated, LogRewound, RedisError):  # not acknowledged: the same key again
            await asyncio.sleep(0.05)
        await asyncio.sleep(max(0.0, 1 / RATE_PER_S - (time.monotonic() - started)))
    await service.stop()
    await client.aclose()
    if stop_primary == "stop":
        assert old.process is not None
        os.kill(old.process.pid, signal.SIGCONT)
    # what the log holds now, read fresh from the primary the sentinels name
    reader = connect(log.url)
    fresh = DispatchService(log_store(reader, log.url, namespace),
                            rules_from(settings, ResponsePlans.load(settings.plans_file)), SystemClock())
    await fresh.start(follow=False)
    kept = {c.idempotency_key for c in fresh.state.calls.values()}
    await reader.aclose()
    lost = len(acked - kept)
    if fault_at is None or back_at is None:
        return float("nan"), lost
    return back_at - fault_at, lost


def run() -> dict[str, float | str]:
    times: list[float] = []
    lost = 0
    by_round: list[str] = []
    with tempfile.TemporaryDirectory() as folder, ReplicatedRedis(Path(folder), replicas=2) as log:
        # A sentinel will not fail the same set over again within twice its failover timeout:
        # faults closer together than that measure the sentinels' back-off, not a failover.
        # Each fault here comes after that gap, as independent failures in service would.
        gap_s = 2 * max(3 * log.down_after_ms, 3000) / 1000
        last = time.monotonic() - gap_s
        for i in range(FAILOVERS):
            time.sleep(max(0.0, last + gap_s - time.monotonic()))
            old = log.primary()
            took, missing = asyncio.run(_through(log, "kill", f"kill{i}"))
            last = time.monotonic()
            times.append(took)
            lost += missing
            by_round.append(f"{took:.1f}s/{missing}")
            old.start()  # back as a replica: the sentinels turn the old primary round
            log.wait_sentinels_agree(30)
        time.sleep(max(0.0, last + gap_s - time.monotonic()))
        took, missing = asyncio.run(_through(log, "stop", "stop"))
        by_round.append(f"stop {took:.1f}s/{missing}")
        lost += missing
    good = [t for t in times if t == t]
    return {"ha_failover_s": round(statistics.median(good), 2) if good else "no failover completed",
            "ha_failover_max_s": round(max(good), 2) if good else "n/a",
            "ha_failovers": len(good), "ha_acked_lost": lost,
            "ha_sigstop_back_s": round(took, 2),
            "ha_rounds_s_lost": ", ".join(by_round)}
