"""The community responders' page in a real Chromium (Debian's, driven by Playwright) on a phone's
screen: the grid worker sees the smoke alarm's task, accepts, arrives, reads the care plan and
reports "needs 120"; each press is in the incident's timeline. Screenshots go to test-artifacts/."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import AUTH, SUPERVISOR_KEY, start_server
from tests.web.test_map_browser import ARTIFACTS, CHROMIUM, FLAGS
from web.redis_server import free_port

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser


def responder_key(redis_url: str, namespace: str, responder_id: str) -> str:
    """Made the documented way: `jointdispatch keys create ... --responder`."""
    env = {**os.environ, "REDIS_URL": redis_url, "JD_NAMESPACE": namespace}
    done = subprocess.run(
        [sys.executable, "-m", "web.cli", "keys", "create", "--client", f"phone-{responder_id}",
         "--agency", "110", "--role", "community_responder", "--responder", responder_id],
        env=env, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip().splitlines()[-1]


def test_a_grid_worker_takes_a_smoke_alarm_task_on_the_phone(redis_server) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed; `make test` installs Debian's chromium")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    namespace = f"responder{port}"
    server = start_server(redis_server.url, port, namespace=namespace, mqtt_url="")
    try:
        http = httpx.Client(base_url=base, headers=AUTH)
        pushed = http.post("/v1/devices/messages", json={"messages": [
            {"type": "alarm", "device_id": "SM-R001", "kind": "smoke",
             "at": datetime.now(UTC).isoformat(), "message_id": "night-1"}]})
        assert pushed.status_code == 200, pushed.text
        [alarm] = http.get("/v1/alarms").json()["alarms"]
        key = responder_key(redis_server.url, namespace, "CR-JB")
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/responder#key={key}")
            page.wait_for_function("window.jdr && window.jdr.loaded", timeout=15_000)
            card = page.locator("#open-tasks li.task")
            card.wait_for()
            assert "江滨路12号3单元201" in card.inner_text() and page.inner_text("#who") == "CR-JB"
            assert "fine" not in card.inner_text().lower()  # outcomes only once accepted
            card.locator("button[data-report=accepted]").click()
            card.locator("button[data-report=arrived]").wait_for(timeout=5_000)
            card.locator("button[data-report=arrived]").click()
            card.locator("button[data-outcome=needs_120]").wait_for(timeout=5_000)
            page.wait_for_function("document.querySelector('#open-tasks .task .state').textContent"
                                   ".includes('at the home')", timeout=5_000)
            card.locator("button[data-care]").click()
            page.locator(".care-plan dd").first.wait_for(timeout=5_000)
            assert "amlodipine" in card.inner_text()
            card.locator("button[data-outcome=other]").click()  # no words: asked for them, nothing sent
            page.wait_for_selector("#open-tasks .refused", timeout=3_000)
            card.locator("textarea[name=note]").fill("smoke in the stairwell, he is at the window")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "responder_task.png"), full_page=True)
            card.locator("button[data-outcome=needs_120]").click()
            page.locator("#done-tasks li.task").wait_for(timeout=5_000)
            assert "needs 120" in page.inner_text("#done-tasks")
            page.screenshot(path=str(ARTIFACTS / "responder_done.png"), full_page=True)
            # the console's map shows the alarm over the old man's home, its incident a click away
            console = browser.new_page(viewport={"width": 1400, "height": 900})
            console.on("pageerror", lambda e: errors.append(str(e)))
            console.goto(f"{base}/#key={SUPERVISOR_KEY}")
            console.wait_for_function("window.jd && window.jd.homes && window.jd.homes.loaded",
                                      timeout=30_000)
            assert console.evaluate("window.jd.homes.alarms.size") == 1
            console.locator(".home-alarm.escalated").click()
            console.locator(f"a[data-incident='{alarm['incident_id']}']").click()
            console.wait_for_selector("#detail:not([hidden])", timeout=5_000)
            console.screenshot(path=str(ARTIFACTS / "homes_layer.png"))
            browser.close()
        timeline = http.get(f"/v1/incidents/{alarm['incident_id']}").json()["timeline"]
        said = [line["summary"] for line in timeline if line["type"] == "responder_reported"]
        assert len(said) == 3 and "needs 120" in said[-1] and "stairwell" in said[-1], said
        assert errors == []
    finally:
        server.kill()
