"""Position frames on the live websocket: one compact frame per batch shared by every screen,
and a screen that falls behind owes at most one frame with the latest fix per unit."""

import json

from web.live import BATCHES_BEHIND, LiveClient, PositionBatch


def _batch(step: int, units: int = 3) -> PositionBatch:
    fixes = [{"unit_id": f"U{i}", "lon": 120.0 + step / 1000, "lat": 30.0, "heading": step % 360,
              "speed_kmh": 40.0, "at": f"2026-05-01T08:00:{step % 60:02d}+00:00"} for i in range(units)]
    return PositionBatch.from_published(json.dumps(fixes))


def test_a_batch_is_one_compact_frame_with_its_oldest_fix_time() -> None:
    frame = json.loads(_batch(7).frame)
    assert frame["type"] == "positions" and frame["at"] == 1777622407.0
    assert frame["positions"][0] == ["U0", 120.007, 30.0, 7, 40.0]


def test_screens_that_keep_up_share_the_very_same_frame() -> None:
    a, b = LiveClient(), LiveClient()
    batch = _batch(1)
    a.owe(batch)
    b.owe(batch)
    assert a.batches[0].frame is b.batches[0].frame


def test_a_slow_screen_owes_one_frame_with_each_units_latest_fix() -> None:
    slow = LiveClient()
    for step in range(BATCHES_BEHIND * 3):
        slow.owe(_batch(step))
    assert len(slow.batches) <= BATCHES_BEHIND
    latest = {}
    for b in slow.batches:
        for fix in json.loads(b.frame)["positions"]:
            latest[fix[0]] = fix
    assert {u: f[3] for u, f in latest.items()} == {"U0": 95, "U1": 95, "U2": 95}
