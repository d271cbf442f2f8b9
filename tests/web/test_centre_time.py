"""The centre's local time: its zone and clock from GET /v1/centre, the server's receipt time for
calls that do not say when they were answered, and the timeline's clock times in the centre's zone."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from dispatch.clock import SimulatedClock
from routing.network import RoadNetwork
from tests.web.conftest import as_supervisor
from web.app import create_app
from web.settings import Settings

# 07:16 UTC is 15:16 in Hangzhou: the hour the issue saw shown wrong
T0 = datetime(2026, 5, 1, 7, 16, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def hangzhou(settings: Settings, small_city: RoadNetwork, clock: SimulatedClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, network=small_city, clock=clock)) as c:
        yield as_supervisor(c)


def test_the_centre_answers_its_zone_and_the_servers_clock(hangzhou: TestClient) -> None:
    body = hangzhou.get("/v1/centre").json()
    assert body["time_zone"] == "Asia/Shanghai" and body["utc_offset_min"] == 480
    assert body["now"] == "2026-05-01T15:16:00+08:00"  # the server's clock, told in local time
    assert body["stale_after_s"] > 0 and body["ack_deadline_s"] > 0


def test_another_zone_is_a_setting_and_an_unknown_one_is_refused(
        settings: Settings, small_city: RoadNetwork, clock: SimulatedClock) -> None:
    with TestClient(create_app(settings.model_copy(update={"time_zone": "Europe/Berlin"}),
                               network=small_city, clock=clock)) as c:
        assert as_supervisor(c).get("/v1/centre").json()["utc_offset_min"] == 120  # summer time
    with pytest.raises(ValidationError, match="time_zone"):
        Settings(time_zone="Mars/Olympus_Mons")


def test_a_call_without_a_time_is_received_at_the_servers_clock(hangzhou: TestClient, centre) -> None:
    lon, lat = centre
    call = hangzhou.post("/v1/calls", json={"hotline": "120", "kind": "traffic_crash_injury",
                                            "location": {"lon": lon, "lat": lat}}).json()
    told = hangzhou.get(f"/v1/calls/{call['call_id']}").json()
    assert datetime.fromisoformat(told["received_at"]) == T0


def test_timeline_lines_tell_clock_times_in_the_centres_zone(hangzhou: TestClient, centre) -> None:
    lon, lat = centre
    inc = hangzhou.post("/v1/calls", json={"hotline": "120", "kind": "drowning",
                                           "location": {"lon": lon, "lat": lat}}).json()["incident_id"]
    sent = hangzhou.post(f"/v1/incidents/{inc}/assign", json={})
    assert sent.status_code == 200, sent.text
    detail = hangzhou.get(f"/v1/incidents/{inc}").json()
    assigned = [e["summary"] for e in detail["timeline"] if e["type"] == "unit_assigned"]
    assert assigned and all("arriving 15:" in line for line in assigned), assigned
    assert not any("arriving 07:" in e["summary"] for e in detail["timeline"])
    # each agency's task carries the moment of its status, for the queue's per-task timer
    assert all(datetime.fromisoformat(t["changed_at"]) == T0 for t in detail["tasks"].values())
