"""The shared map in a real Chromium (Debian's, driven by Playwright): live incidents, moving
units, a whistle's acknowledgements, and the same state after the server restarts."""

import json
import random
import shutil
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from dispatch.fleet import DEMO_FLEET_FILE
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
        page.on("pageerror", lambda e: errors.append(str(e) + " @ " + str(e.stack)[:300]))
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
        page.wait_for_function("window.jd.unitAt('P-C-1') !== null")
        before = page.evaluate("window.jd.unitAt('P-C-1')[0]")
        httpx.post(f"{base}/v1/units/P-C-1/position", json={"lon": lon, "lat": lat + 0.004}, headers=AUTH)
        page.wait_for_function(
            f"Math.abs(window.jd.unitAt('P-C-1')[0] - {lat + 0.004}) < 1e-6",
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

        # right-click a road, close it: every screen draws it (from the log), routing avoids it
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, button="right")
        page.get_by_role("button", name="Close road here").click(timeout=3000)
        page.wait_for_function("window.jd.roads.size === 1", timeout=3_000)
        closed = httpx.get(f"{base}/v1/roads/restrictions", headers=AUTH).json()["restrictions"]
        assert [r["state"] for r in closed] == ["closed"] and closed[0]["by"] == "map"
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
        assert page.evaluate("window.jd.roads.size") == 1  # the closure stands after the restart
        # while it was down the browser logs its refused reconnects (and a reset for a request the
        # kill cut mid-way), and nothing else
        assert all("ERR_CONNECTION_REFUSED" in e or "ERR_CONNECTION_RESET" in e for e in errors), errors
    finally:
        server.kill()


def test_two_thousand_moving_units_are_drawn_and_glide(redis_server, browser_page, tmp_path) -> None:
    """A city's fleet at 1 Hz: every unit on the canvas, moving; the frame rate is reported
    (printed and saved with the artifacts), never asserted."""
    page, errors = browser_page
    fleet = yaml.safe_load(DEMO_FLEET_FILE.read_text())
    fleet["units"] = [{"id": f"X{a}", "station": s, "kind": k, "call_sign": f"Unit {a}", "count": 500,
                       "crew": 2} for a, s, k in (("110", "PS-CENTRAL", "patrol_car"),
                                                  ("119", "FS-1", "fire_engine"),
                                                  ("120", "AS-CITY", "ambulance"),
                                                  ("122", "TB-1", "traffic_police_car"))]
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(fleet))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(redis_server.url, port, namespace=f"scale{port}", fleet_file=str(fleet_file))
    stop = threading.Event()
    failures: list[str] = []
    driver: threading.Thread | None = None
    try:
        w, s, e, n = httpx.get(f"{base}/v1/map/roads", headers=AUTH).json()["bounds"]
        ids = [f"X{a}-{i}" for a in ("110", "119", "120", "122") for i in range(1, 501)]
        rng = random.Random(1)
        at = {u: [rng.uniform(w, e), rng.uniform(s, n)] for u in ids}

        def drive() -> None:  # every unit one fix a second, as a vehicle gateway would post them
            with httpx.Client(base_url=base, headers=AUTH, timeout=10) as http:
                while not stop.is_set() and not failures:
                    tick = time.monotonic()
                    for p in at.values():
                        p[0] = min(e, max(w, p[0] + rng.uniform(-4e-4, 4e-4)))
                        p[1] = min(n, max(s, p[1] + rng.uniform(-4e-4, 4e-4)))
                    fixes = [{"unit_id": u, "lon": p[0], "lat": p[1], "heading": rng.uniform(0, 359)}
                             for u, p in at.items()]
                    for i in range(0, len(fixes), 400):  # within the API's request body limit
                        r = http.post("/v1/positions", json={"positions": fixes[i:i + 400]})
                        if r.status_code != 200:
                            failures.append(r.text)
                    stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

        driver = threading.Thread(target=drive, daemon=True)
        driver.start()
        page.goto(f"{base}/#key={SUPERVISOR_KEY}")
        page.wait_for_function("window.jd && window.jd.connected && window.jd.roadsLoaded", timeout=30_000)
        page.wait_for_function("window.jd.fleet.count() >= 2000", timeout=20_000)
        first = page.evaluate("window.jd.unitAt('X120-250')")
        figures = page.evaluate("""() => new Promise((done) => {
            const fleet = window.jd.fleet;
            let frames = 0;
            const drawn0 = fleet.frames, t0 = performance.now();
            const count = (now) => {
              frames++;
              if (now - t0 < 5000) requestAnimationFrame(count);
              else done({fps: frames * 1000 / (now - t0),
                         redraws_per_s: (fleet.frames - drawn0) * 1000 / (now - t0)});
            };
            requestAnimationFrame(count);
        })""")
        assert not failures, failures
        assert page.evaluate("window.jd.unitAt('X120-250')") != first  # it moved meanwhile
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "map_2000_units.json").write_text(json.dumps(figures, indent=2))
        print(f"\n2,000 units at 1 Hz in Chromium: {figures['fps']:.1f} frames/s, "
              f"{figures['redraws_per_s']:.1f} canvas redraws/s")
        page.screenshot(path=str(ARTIFACTS / "map_2000_units.png"))
        assert errors == []
    finally:
        stop.set()
        if driver is not None:
            driver.join(timeout=15)  # its last post finishes before the server goes
        server.kill()


def test_a_dead_signal_controller_shows_a_degraded_corridor_naming_uncovered_signals(
        redis_server, browser_page) -> None:
    page, errors = browser_page
    port, dead = free_port(), free_port()  # nothing listens on `dead`: the 122 controller is down
    base = f"http://127.0.0.1:{port}"
    server = start_server(redis_server.url, port, namespace=f"degraded{port}",
                          signal_controller_url=f"http://127.0.0.1:{dead}")
    try:
        page.goto(f"{base}/#key={SUPERVISOR_KEY}")
        page.wait_for_function("window.jd && window.jd.connected && window.jd.roadsLoaded", timeout=30_000)
        w, s, e, n = httpx.get(f"{base}/v1/map/roads", headers=AUTH).json()["bounds"]
        inc = httpx.post(f"{base}/v1/calls", json={
            "hotline": "119", "kind": "fire", "text": "flat on fire",
            "location": {"lon": (w + e) / 2, "lat": (s + n) / 2}}, headers=AUTH).json()["incident_id"]
        started = time.monotonic()
        blown = httpx.post(f"{base}/v1/incidents/{inc}/whistle", json={"by": "d", "agency": "119"},
                           headers=AUTH, timeout=30)
        assert blown.status_code == 201  # the whistle and the dispatch went through regardless
        print(f"\nwhistle with the controller down answered in {time.monotonic() - started:.2f} s")
        detail = httpx.get(f"{base}/v1/incidents/{inc}", headers=AUTH).json()
        uncovered = sorted({sid for c in detail["corridors"] for sid in c["uncovered"]})
        assert uncovered and all(c["degraded"] for c in detail["corridors"] if c["signals"])
        banner = page.locator("#degraded")
        banner.wait_for(state="visible", timeout=3_000)
        assert all(sid in banner.inner_text() for sid in uncovered)
        page.wait_for_selector("#corridors li.sig.degraded")
        page.screenshot(path=str(ARTIFACTS / "map_degraded.png"))
        assert errors == []
    finally:
        server.kill()
