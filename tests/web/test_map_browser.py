"""The shared map in a real Chromium (Debian's, driven by Playwright): live incidents, moving
units, a whistle's acknowledgements, and the same state after the server restarts."""

import shutil
import signal
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import AUTH, SUPERVISOR_KEY, start_server
from web.redis_server import free_port

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed; `make test` installs Debian's chromium")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page, errors
        browser.close()


def test_map_shows_calls_units_whistle_and_survives_a_restart(redis_server, browser_page) -> None:
    page, errors = browser_page
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(redis_server.url, port, namespace=f"browser{port}")
    try:
        page.goto(f"{base}/#key={SUPERVISOR_KEY}")  # as `jointdispatch serve` prints it
        page.wait_for_function("window.jd && window.jd.connected && window.jd.roadsLoaded", timeout=30_000)
        w, s, e, n = httpx.get(f"{base}/v1/map/roads", headers=AUTH).json()["bounds"]
        lon, lat = (w + e) / 2, (s + n) / 2

        # a posted call appears on the page within 2 s
        inc = httpx.post(f"{base}/v1/calls", json={
            "hotline": "120", "kind": "drowning", "text": "swimmer pulled under",
            "location": {"lon": lon, "lat": lat}}, headers=AUTH).json()["incident_id"]
        page.wait_for_selector(f"#incidents li[data-id='{inc}']", timeout=2_000)

        # a unit marker moves when its position is posted
        page.wait_for_function("window.jd.unitMarkers.has('P-C-1')")
        before = page.evaluate("window.jd.unitMarkers.get('P-C-1').getLatLng().lat")
        httpx.post(f"{base}/v1/units/P-C-1/position", json={"lon": lon, "lat": lat + 0.004}, headers=AUTH)
        page.wait_for_function(
            f"Math.abs(window.jd.unitMarkers.get('P-C-1').getLatLng().lat - {lat + 0.004}) < 1e-6",
            timeout=3_000)
        assert before != lat + 0.004

        # a whistle shows its acknowledgements
        blown = httpx.post(f"{base}/v1/incidents/{inc}/whistle", json={"by": "dr", "agency": "120"},
                           headers=AUTH).json()
        wid = blown["whistle"]["whistle_id"]
        page.click(f"#incidents li[data-id='{inc}']")
        page.wait_for_selector("table.summons")
        httpx.post(f"{base}/v1/whistles/{wid}/ack", json={"agency": "119", "by": "Captain"}, headers=AUTH)
        page.wait_for_selector("table.summons tr[data-agency='119'] .ack", timeout=3_000)
        page.wait_for_function("window.jd.routes.size >= 1", timeout=5_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map.png"))

        assert errors == []  # no console error while the server was up

        # the server restarts: the page reconnects and shows the same state
        seq = page.evaluate("window.jd.seq")
        server.send_signal(signal.SIGKILL)
        server.wait()
        page.wait_for_function("!window.jd.connected", timeout=10_000)
        server = start_server(redis_server.url, port, namespace=f"browser{port}")
        page.wait_for_function("window.jd.connected", timeout=20_000)
        page.wait_for_function(f"window.jd.seq >= {seq}")
        assert page.evaluate(f"window.jd.incidents.has('{inc}')")
        assert page.locator(f"#incidents li[data-id='{inc}']").count() == 1
        # while it was down the browser logs its refused reconnects, and nothing else
        assert all("ERR_CONNECTION_REFUSED" in e for e in errors), errors
    finally:
        server.kill()
