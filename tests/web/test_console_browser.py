"""The dispatcher's console in a real Chromium (Debian's, driven by Playwright): local time from the
centre's zone and the server's clock whatever the browser's are, the incident queue, and filters
that apply to incidents and units alike. Screenshots go to test-artifacts/."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.web.conftest import AUTH, SUPERVISOR_KEY, start_server
from tests.web.test_map_browser import ARTIFACTS, CHROMIUM, FLAGS
from web.redis_server import free_port

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser
CENTRE_ZONE = ZoneInfo("Asia/Shanghai")


class Console:
    """One server and one browser; `open(key)` loads the page with a key, as the serve line does."""

    def __init__(self, redis_url: str, browser: Any, **settings: str) -> None:
        port = free_port()
        self.base, self.redis_url = f"http://127.0.0.1:{port}", redis_url
        self.namespace = f"console{port}"
        self.server = start_server(redis_url, port, namespace=self.namespace, **settings)
        # a browser that thinks it is in New York, three hours fast: the page must not believe it
        context = browser.new_context(viewport={"width": 1400, "height": 900},
                                      timezone_id="America/New_York")
        self.page = context.new_page()
        self.page.clock.install(time=datetime.now().astimezone() + timedelta(hours=3))
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, key: str = SUPERVISOR_KEY, wait: bool = True) -> None:
        self.page.goto(f"{self.base}/#key={key}")
        if wait:
            self.page.wait_for_function("window.jd && window.jd.connected && window.jd.roadsLoaded",
                                        timeout=30_000)

    def cli(self, *args: str) -> str:
        """`jointdispatch keys ...` against this server's Redis and namespace, as an admin runs it."""
        env = {**os.environ, "REDIS_URL": self.redis_url, "JD_NAMESPACE": self.namespace}
        done = subprocess.run([sys.executable, "-m", "web.cli", *args], env=env, capture_output=True,
                              text=True, check=True)
        return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def consoles(redis_server, request) -> Iterator[Console]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed; `make test` installs Debian's chromium")
    marker = request.node.get_closest_marker("server_settings")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        one = Console(redis_server.url, browser, **(marker.kwargs if marker else {}))
        try:
            yield one
        finally:
            browser.close()
            one.server.kill()


@pytest.fixture
def console(consoles: Console) -> tuple[Any, str, list[str]]:
    consoles.open()
    return consoles.page, consoles.base, consoles.errors


def local(iso: str, fmt: str = "%H:%M:%S") -> str:
    return datetime.fromisoformat(iso).astimezone(CENTRE_ZONE).strftime(fmt)


def seconds_shown(text: str) -> int:
    parts = [int(x) for x in text.split(":")]
    return sum(v * 60 ** i for i, v in enumerate(reversed(parts)))


def test_times_are_the_centres_and_the_queue_shows_what_a_dispatcher_needs(console) -> None:
    page, base, errors = console
    http = httpx.Client(base_url=base, headers=AUTH)
    w, s, e, n = http.get("/v1/map/roads").json()["bounds"]

    # a call taken on the page: the server stamps it, not the browser three hours fast
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.select_option("#call-form select[name=hotline]", "120")
    page.select_option("#kind", "drowning")
    page.fill("#call-form input[name=text]", "swimmer pulled under")
    page.click("#call-form button[type=submit]")
    page.wait_for_selector("#incidents li[data-id]", timeout=5_000)
    drowning = page.get_attribute("#incidents li[data-id]", "data-id")
    detail = http.get(f"/v1/incidents/{drowning}").json()
    received = datetime.fromisoformat(detail["calls"][0]["received_at"])
    assert abs((received - datetime.now().astimezone()).total_seconds()) < 60

    # every time on the page is the centre's (UTC+8), not the browser's New York one nor UTC
    page.wait_for_selector("#detail time")
    assert page.inner_text("#detail ol li time") == local(detail["calls"][0]["received_at"])
    timeline = page.locator("#detail ol").nth(1).locator("li time").first.inner_text()
    assert timeline == local(detail["timeline"][0]["at"])
    clock = page.inner_text("#clock")
    now = datetime.now(CENTRE_ZONE)
    assert clock in {(now + timedelta(seconds=d)).strftime("%H:%M:%S") for d in range(-3, 2)}

    # the elapsed timer counts from the server's clock: seconds, not three hours
    elapsed = page.locator(f"#incidents li[data-id='{drowning}'] .elapsed time").inner_text()
    assert seconds_shown(elapsed) < 120, elapsed
    page.wait_for_function(f"document.querySelector(\"#incidents li[data-id='{drowning}'] .elapsed time\")"
                           f".textContent !== '{elapsed}'", timeout=5_000)  # and it runs

    # a second incident, for another agency, and the whistle on the first
    theft = http.post("/v1/calls", json={"hotline": "110", "kind": "theft", "text": "bike gone",
                                          "location": {"lon": w + (e - w) * 0.2, "lat": s + (n - s) * 0.2}}
                      ).json()["incident_id"]
    page.wait_for_selector(f"#incidents li[data-id='{theft}']", timeout=3_000)
    blown = http.post(f"/v1/incidents/{drowning}/whistle", json={"by": "dr", "agency": "120"}, timeout=30)
    assert blown.status_code == 201, blown.text
    row = page.locator(f"#incidents li[data-id='{drowning}']")
    row.locator(".whistle-badge.waiting").wait_for(timeout=3_000)
    # each agency's task with its status and its own timer; the number of calls; the severity
    row.locator(".task[data-agency='120'] time.timer").wait_for()
    assert row.locator(".task").count() == len(http.get(f"/v1/incidents/{drowning}").json()["tasks"])
    assert "1" in row.locator(".calls").inner_text()
    assert row.locator(".sev-chip").inner_text() == str(detail["severity"])
    assert page.locator("#sev-legend .sev-chip").count() == 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console_queue.png"))

    # the filters: agency, incident kind and status hide incidents and units alike
    all_units = page.evaluate("window.jd.fleet.count()")
    police = sum(1 for u in http.get("/v1/units").json()["units"] if u["agency"] == "110")
    page.uncheck("#filters input[data-agency='110']")
    page.wait_for_selector(f"#incidents li[data-id='{theft}']", state="detached", timeout=2_000)
    assert page.locator(f"#incidents li[data-id='{drowning}']").count() == 1  # 120 and 119 tasks
    assert page.evaluate("window.jd.fleet.count()") == all_units - police
    page.check("#filters input[data-agency='110']")
    page.select_option("#kind-filter", "theft")
    page.wait_for_selector(f"#incidents li[data-id='{drowning}']", state="detached", timeout=2_000)
    assert page.locator(f"#incidents li[data-id='{theft}']").count() == 1
    assert page.evaluate("window.jd.fleet.count()") == 0  # nobody is working on the theft yet
    assert page.evaluate(f"window.jd.incidentMarkers.get('{drowning}')._map") is None
    page.select_option("#kind-filter", "")
    page.select_option("#status-filter", "responding")  # the drowning has units sent; the theft none
    page.wait_for_selector(f"#incidents li[data-id='{theft}']", state="detached", timeout=2_000)
    sent = {u["unit_id"] for u in http.get("/v1/units").json()["units"]
            if u["status"] in ("dispatched", "en_route")}
    assert sent and page.evaluate("window.jd.fleet.count()") == len(sent)
    page.screenshot(path=str(ARTIFACTS / "console_filtered.png"))

    # in Chinese the queue's words follow
    page.click("#lang")
    page.select_option("#status-filter", "")
    page.wait_for_selector(f"#incidents li[data-id='{theft}']")
    assert "待派" in page.inner_text(f"#incidents li[data-id='{theft}'] .row2")
    assert page.inner_text("#conn") == "在线"
    assert errors == []


def test_the_unit_board_shows_each_agencys_units_and_changes_status_by_click_and_key(console) -> None:
    page, base, errors = console
    http = httpx.Client(base_url=base, headers=AUTH)
    w, s, e, n = http.get("/v1/map/roads").json()["bounds"]
    crash = {"hotline": "120", "kind": "traffic_crash_injury",
             "location": {"lon": (w + e) / 2, "lat": (s + n) / 2}}
    inc = http.post("/v1/calls", json=crash).json()["incident_id"]
    sent = http.post(f"/v1/incidents/{inc}/assign", json={}).json()["assigned"]
    ambulance = next(u for u in sent if http.get(f"/v1/units/{u}").json()["agency"] == "120")
    row = page.locator(f"#board tr[data-unit='{ambulance}']")
    row.locator("time.eta").wait_for(timeout=5_000)  # counting down to its arrival
    assert inc in row.inner_text() and "dispatched" in row.locator(".ustatus").inner_text()
    assert page.locator("#board table.board").count() == 4  # one table per agency
    row.locator(".stale").wait_for()  # no fix ever reported (the demo drive is off)

    # one click: en route
    row.locator("button[data-status='en_route']").click()
    page.wait_for_function(f"window.jd.units.get('{ambulance}').status === 'en_route'", timeout=3_000)
    assert http.get(f"/v1/units/{ambulance}").json()["status"] == "en_route"
    # a key on the focused row: 2 = on scene; parked on scene it is not stale, here or in the API
    page.locator(f"#board tr[data-unit='{ambulance}']").focus()
    page.keyboard.press("2")
    page.wait_for_function(f"window.jd.units.get('{ambulance}').status === 'on_scene'", timeout=3_000)
    told = http.get(f"/v1/units/{ambulance}").json()
    assert told["status"] == "on_scene" and told["stale"] is False
    row = page.locator(f"#board tr[data-unit='{ambulance}']")
    row.locator(".ustatus").filter(has_text="on scene").wait_for(timeout=3_000)
    assert row.locator(".stale").count() == 0
    assert row.locator("time.timer").inner_text().startswith("0:0")  # time in status restarted
    # a refused change says why on the board
    row.locator("button[data-status='transporting']").wait_for()
    http.post(f"/v1/units/{ambulance}/status", json={"status": "returning"})
    page.wait_for_function(f"window.jd.units.get('{ambulance}').status === 'returning'", timeout=3_000)
    page.evaluate(f"window.jd.board.onChange(window.jd.units.get('{ambulance}'), 'transporting')")
    page.locator("#board-msg.refused").wait_for(timeout=3_000)
    page.locator(f"#board tr[data-unit='{ambulance}']").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console_unit_board.png"), full_page=True)
    assert all("409" in e for e in errors), errors  # the refused request, and nothing else


def test_a_bad_key_a_revoked_key_a_refusal_and_a_lost_connection_each_say_what_to_do(consoles) -> None:
    page = consoles.page
    # an unknown key: a form saying so, and what to do, instead of a blank map
    consoles.open("jd_nobody_" + "x" * 32, wait=False)
    gate = page.locator("#key-gate")
    gate.wait_for(state="visible", timeout=10_000)
    assert "unknown API key" in gate.inner_text() and "jointdispatch keys create" in gate.inner_text()
    page.screenshot(path=str(ARTIFACTS / "console_bad_key.png"))

    # a 110 dispatcher's key, pasted into the form
    dispatcher = consoles.cli("keys", "create", "--client", "desk-110", "--agency", "110",
                              "--role", "dispatcher")
    page.fill("#key-gate input[name=key]", dispatcher)
    page.click("#key-gate button[type=submit]")
    page.wait_for_function("window.jd && window.jd.connected && window.jd.me.agency === '110'",
                           timeout=30_000)
    assert page.locator("#key-gate").is_hidden()

    # a refused action (an ambulance is 120's, not 110's) says why and what to do
    http = httpx.Client(base_url=consoles.base, headers=AUTH)
    page.locator("#board tr[data-unit='A-C-1'] button[data-status='out_of_service']").click()
    refusal = page.locator(".notice.refused")
    refusal.wait_for(timeout=3_000)
    assert "agency 120" in refusal.inner_text() and "supervisor" in refusal.inner_text()
    assert http.get("/v1/units/A-C-1").json()["status"] == "available"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console_refused.png"))

    # the whistle form knows the key's agency: a 110 dispatcher may not blow it (403, shown)
    w, s, e, n = http.get("/v1/map/roads").json()["bounds"]
    drowning = {"hotline": "120", "kind": "drowning", "location": {"lon": (w + e) / 2, "lat": (s + n) / 2}}
    inc = http.post("/v1/calls", json=drowning).json()["incident_id"]
    page.click(f"#incidents li[data-id='{inc}']")
    page.wait_for_selector("#whistle-form")
    assert page.locator("#whistle-form select[name=agency]").input_value() == "110"
    assert page.locator("#whistle-form select[name=agency]").is_disabled()
    page.click("#whistle-form button[type=submit]")
    page.locator(".notice.refused", has_text="whistle").wait_for(timeout=5_000)

    # lost connection: the server goes away, the page says so and what it means, then recovers
    consoles.server.kill()
    consoles.server.wait()
    lost = page.locator(".notice.lost")
    lost.wait_for(timeout=10_000)
    assert "reconnecting" in lost.inner_text() and "not live" in lost.inner_text()
    page.screenshot(path=str(ARTIFACTS / "console_lost.png"))
    port = int(consoles.base.rsplit(":", 1)[1])
    consoles.server = start_server(consoles.redis_url, port, namespace=consoles.namespace)
    lost.wait_for(state="detached", timeout=20_000)

    # the key is revoked while the page is open: the live socket closes, the form says why
    key_id = dispatcher.split("_")[1]
    consoles.cli("keys", "revoke", key_id)
    gate.wait_for(state="visible", timeout=30_000)
    assert "revoked" in gate.inner_text()


def test_the_whistle_panel_is_a_form_and_acks_only_for_the_viewers_agency(consoles) -> None:
    page = consoles.page
    convener = consoles.cli("keys", "create", "--client", "conv-119", "--agency", "119",
                            "--role", "convener")
    consoles.open(convener)
    http = httpx.Client(base_url=consoles.base, headers=AUTH)
    w, s, e, n = http.get("/v1/map/roads").json()["bounds"]
    fire = {"hotline": "119", "kind": "fire", "location": {"lon": (w + e) / 2, "lat": (s + n) / 2}}
    inc = http.post("/v1/calls", json=fire).json()["incident_id"]
    blown = http.post(f"/v1/incidents/{inc}/whistle", json={"by": "Dispatcher Li", "agency": "119"},
                      timeout=30)
    assert blown.status_code == 201, blown.text
    wid = blown.json()["whistle"]["whistle_id"]
    page.click(f"#incidents li[data-id='{inc}']")
    page.wait_for_selector("table.summons")
    # an Ack button only on the viewer's own agency's row
    assert page.locator("table.summons button[data-ack]").count() == 1
    assert page.locator("table.summons tr[data-agency='119'] button[data-ack]").count() == 1
    summoned = blown.json()["whistle"]["summons"]["120"]["name"]
    assert summoned in page.inner_text("table.summons tr[data-agency='120'] .summoned")
    page.evaluate("localStorage.setItem('jd-name', 'Captain Wu')")
    page.click("table.summons tr[data-agency='119'] button[data-ack]")
    page.wait_for_selector("table.summons tr[data-agency='119'] .ack", timeout=3_000)
    # the table says who acknowledged, at the centre's time, not who was summoned
    ack = http.get(f"/v1/whistles/{wid}").json()["summons"]["119"]
    assert ack["acknowledged_by"] == "Captain Wu"
    shown = page.inner_text("table.summons tr[data-agency='119'] .ack")
    assert "Captain Wu" in shown and local(ack["acknowledged_at"]) in shown
    page.screenshot(path=str(ARTIFACTS / "console_whistle.png"))
    assert consoles.errors == []


def test_the_incident_workspace_sends_keeps_the_recommendation_takes_notes_and_closes(console) -> None:
    page, base, errors = console
    http = httpx.Client(base_url=base, headers=AUTH)
    w, s, e, n = http.get("/v1/map/roads").json()["bounds"]
    crash = {"hotline": "120", "kind": "traffic_crash_injury", "text": "taxi on its side, two trapped",
             "location": {"lon": (w + e) / 2, "lat": (s + n) / 2}}
    inc = http.post("/v1/calls", json=crash).json()["incident_id"]
    page.click(f"#incidents li[data-id='{inc}']")
    page.click("#confirm", timeout=10_000)  # confirm and send, from the page
    assigned = page.locator("#assigned table.assigned tr")
    assigned.first.wait_for(timeout=5_000)
    sent = http.get(f"/v1/incidents/{inc}").json()["units"]
    assert sent and assigned.count() == len(sent)
    page.locator("#assigned time.eta").first.wait_for()  # counting down to arrival
    # the recommendation stays on screen once acted on, marked as sent
    page.locator("#rec h3", has_text="sent").wait_for(timeout=5_000)
    assert page.locator("#rec ul.rec li").count() >= 1
    page.locator("#destination .destination").wait_for(timeout=5_000)

    # a note, timestamped, for the key's agency
    page.fill("#note-form textarea", "driver trapped, 119 cutting the door")
    page.click("#note-form button[type=submit]")
    page.locator("ol.notes li", has_text="cutting the door").wait_for(timeout=5_000)
    note = http.get(f"/v1/incidents/{inc}").json()["notes"][0]
    assert note["agency"] == "120"
    assert local(note["at"]) in page.inner_text("ol.notes li")
    page.screenshot(path=str(ARTIFACTS / "console_workspace.png"))

    # closing with a disposition: off the queue, the reason in the log
    page.select_option("#close-form select[name=disposition]", "transported")
    page.fill("#close-form input[name=details]", "both to People's Hospital")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector(f"#incidents li[data-id='{inc}']", state="detached", timeout=5_000)
    closed = http.get(f"/v1/incidents/{inc}").json()
    assert closed["status"] == "closed"
    assert any("patient transported: both to People's Hospital" in t["summary"] for t in closed["timeline"])
    assert errors == []


@pytest.mark.server_settings(lead_dark_after_s="2")
def test_the_console_says_when_the_lead_passes_to_its_centre(consoles) -> None:
    """The page's key is a 120 supervisor's: with the day planned for 119 and no 119 console
    live, the lead passes to 120 and the page says so, with the reason and who was told."""
    http = httpx.Client(base_url=consoles.base, headers=AUTH)
    today = http.get("/v1/roster").json()
    duties = {a: {lvl: {"name": d[lvl]["name"], "channel": d[lvl]["channel"]} for lvl in d}
              for a, d in today["duties"].items()}
    planned = http.put(f"/v1/roster/{today['day']}", json={"lead": "119", "duties": duties, "by": "sup"})
    assert planned.status_code == 200, planned.text
    consoles.open()
    page = consoles.page
    page.wait_for_selector("#roster .handover", timeout=15_000)
    assert "120" in page.inner_text("#roster b")
    reason = page.get_attribute("#roster .handover", "title") or ""
    assert "no 119 console live" in reason
    notice = page.inner_text("[data-notice=lead]")
    assert "120" in notice and today["duties"]["120"]["convener"]["name"] in notice and reason in notice
    assert http.get("/v1/roster").json()["lead"] == "120"
    page.screenshot(path=str(ARTIFACTS / "console-lead-handed-over.png"))
    assert not consoles.errors, consoles.errors


def _serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands (axe 4.12, bundled by
    axe-playwright-python: no CDN, no npm step)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:5]]}"
            for v in found if v["impact"] in ("serious", "critical")]


def test_the_console_has_no_serious_accessibility_violations(consoles) -> None:
    """The page as a dispatcher works it, in both languages: the queue with a whistled incident,
    its workspace and whistle panel open, the unit board; axe finds nothing serious."""
    consoles.open()
    page = consoles.page
    http = httpx.Client(base_url=consoles.base, headers=AUTH)
    w, s, e, n = http.get("/v1/map/roads").json()["bounds"]
    call = {"hotline": "120", "kind": "drowning", "location": {"lon": (w + e) / 2, "lat": (s + n) / 2}}
    inc = http.post("/v1/calls", json=call).json()["incident_id"]
    assert http.post(f"/v1/incidents/{inc}/whistle", json={"by": "d", "agency": "120"},
                     timeout=30).status_code == 201
    page.wait_for_selector(f"#incidents li[data-id='{inc}']", timeout=10_000)
    page.click(f"#incidents li[data-id='{inc}']")
    page.wait_for_selector("table.summons", timeout=10_000)
    assert _serious_violations(page) == []
    page.click("#lang")  # 中文
    page.wait_for_function("document.documentElement.lang.startsWith('zh')", timeout=5_000)
    # the timeline in Chinese too: the server sends each line in both languages
    page.wait_for_function("document.querySelector('#detail').innerText.includes('吹哨')", timeout=5_000)
    assert _serious_violations(page) == []
    assert consoles.errors == []


@pytest.mark.server_settings(ack_deadline_s="3")
def test_an_unacknowledged_summons_rings_only_its_agency_until_acknowledged(consoles) -> None:
    """The page's key is 110's convener: when 120 blows the whistle and nobody answers in time,
    the banner names 110's summons (the person, escalated) and rings; 120's silence does not ring
    here. Ack from the banner clears it and the ringing stops."""
    convener = consoles.cli("keys", "create", "--client", "conv-110", "--agency", "110",
                            "--role", "convener")
    consoles.open(convener)
    page = consoles.page
    http = httpx.Client(base_url=consoles.base, headers=AUTH)
    w, s, e, n = http.get("/v1/map/roads").json()["bounds"]
    drowning = {"hotline": "120", "kind": "drowning", "location": {"lon": (w + e) / 2, "lat": (s + n) / 2}}
    inc = http.post("/v1/calls", json=drowning).json()["incident_id"]
    blown = http.post(f"/v1/incidents/{inc}/whistle", json={"by": "Dr Xu", "agency": "120"}, timeout=30)
    assert blown.status_code == 201, blown.text
    wid = blown.json()["whistle"]["whistle_id"]
    assert {"110", "120"} <= set(blown.json()["whistle"]["summons"])
    assert page.locator("#alarms").is_hidden()  # not yet late: no alarm

    alarm = page.locator("#alarms .alarm[data-agency='110']")
    alarm.wait_for(timeout=15_000)
    # past its deadline the summons escalated: the banner names who is summoned now
    now = http.get(f"/v1/whistles/{wid}").json()["summons"]["110"]
    page.locator("#alarms .alarm[data-agency='110']", has_text=now["name"]).wait_for(timeout=5_000)
    text = alarm.inner_text()
    assert "110" in text and inc in text and "not acknowledged" in text and "Acknowledge" in text
    assert page.locator("#alarms .alarm").count() == 1  # 120's, 119's, 122's summons are not 110's
    page.wait_for_function("window.jd.alerts.beeps >= 2", timeout=10_000)  # and it keeps ringing
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console_alarm_whistle.png"))
    page.click("#lang")  # the banner in Chinese: what happened and what to do
    page.locator("#alarms .alarm[data-agency='110']", has_text="尚未确认").wait_for(timeout=3_000)
    assert "确认" in alarm.locator("button.act").inner_text() and "静音" in alarm.inner_text()
    page.click("#lang")

    page.evaluate("localStorage.setItem('jd-name', 'Inspector Zhao')")
    alarm.locator("button.act").click()
    page.locator("#alarms").wait_for(state="hidden", timeout=5_000)
    acked = http.get(f"/v1/whistles/{wid}").json()["summons"]["110"]
    assert acked["acknowledged_by"] == "Inspector Zhao"
    rung = page.evaluate("window.jd.alerts.beeps")
    page.wait_for_timeout(4_500)  # one ring period: no beep once handled
    assert page.evaluate("window.jd.alerts.beeps") == rung
    assert page.evaluate("window.jd.alerts.ringing()") is False
    assert consoles.errors == []


@pytest.mark.server_settings(check_in_minutes="0.05")
def test_the_workspace_adds_and_stands_down_units_checks_in_splits_and_merges(console) -> None:
    """A supervisor's page (every agency's units and alarms); a check-in is due every 3 s."""
    page, base, errors = console
    http = httpx.Client(base_url=base, headers=AUTH)
    w, s, e, n = http.get("/v1/map/roads").json()["bounds"]
    where = {"lon": (w + e) / 2, "lat": (s + n) / 2}
    crash = {"hotline": "120", "kind": "traffic_crash_injury", "text": "taxi on its side", "location": where}
    inc = http.post("/v1/calls", json=crash).json()["incident_id"]
    sent = http.post(f"/v1/incidents/{inc}/assign", json={}).json()["assigned"]
    ambulance = next(u for u in sent if http.get(f"/v1/units/{u}").json()["agency"] == "120")
    page.click(f"#incidents li[data-id='{inc}']")

    # add a unit: the free ones, nearest first; a reason, since it was not recommended
    form = page.locator("#add-unit-form")
    form.wait_for(timeout=5_000)
    offered = form.locator("select[name=unit] option").evaluate_all("os => os.map(o => o.value)")
    free = {u["unit_id"] for u in http.get("/v1/units").json()["units"]
            if u["status"] in ("available", "returning")}
    assert offered and set(offered) <= free and not set(offered) & set(sent)
    extra = offered[0]
    form.locator("select[name=unit]").select_option(extra)
    form.locator("input[name=reason]").fill("second crew for the trapped driver")
    form.locator("button[type=submit]").click()
    page.locator(f"#assigned tr[data-unit='{extra}']").wait_for(timeout=5_000)
    assert any(u["unit_id"] == extra for u in http.get(f"/v1/incidents/{inc}").json()["units"])
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#add-unit-form").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "console_add_unit.png"))

    # stand it down again, with a reason: it turns back and leaves the incident
    page.click(f"#assigned button[data-stand-down='{extra}']")
    page.fill("#stand-down-form input[name=reason]", "not needed, driver freed")
    assert page.locator("#stand-down-form select[name=unit]").input_value() == extra
    page.click("#stand-down-form button[type=submit]")
    page.locator(f"#assigned tr[data-unit='{extra}']").wait_for(state="detached", timeout=5_000)
    assert http.get(f"/v1/units/{extra}").json()["status"] == "returning"
    assert any("returning: not needed, driver freed" in e["summary"]
               for e in http.get(f"/v1/incidents/{inc}").json()["timeline"])

    # the ambulance arrives: 120's check-in timer runs, and rings once overdue
    for status in ("en_route", "on_scene"):
        assert http.post(f"/v1/units/{ambulance}/status", json={"status": status}).status_code == 200
    page.locator("#check-ins tr[data-agency='120']").wait_for(timeout=5_000)
    alarm = page.locator("#alarms .alarm.checkin[data-agency='120']")
    alarm.wait_for(timeout=10_000)
    assert inc in alarm.inner_text() and "Check-in overdue" in alarm.inner_text()
    page.wait_for_function("window.jd.alerts.beeps >= 1", timeout=5_000)
    page.screenshot(path=str(ARTIFACTS / "console_check_in_alarm.png"))
    page.evaluate("localStorage.setItem('jd-name', 'Dr Ma')")
    page.click("#check-ins button[data-check-in='120']")
    alarm.wait_for(state="detached", timeout=5_000)
    task = http.get(f"/v1/incidents/{inc}").json()["tasks"]["120"]
    assert task["checked_in_by"] == "Dr Ma" and task["check_in_since"] == task["checked_in_at"]
    page.locator("#check-ins tr[data-agency='120']", has_text="Dr Ma").wait_for(timeout=3_000)

    # overdue again: silenced, it stops ringing in this browser (after a reload too), unhandled
    alarm.wait_for(timeout=10_000)
    alarm.locator("button.silence").click()
    page.locator("#alarms p.silenced").wait_for(timeout=3_000)
    assert page.locator("#alarms .alarm").count() == 0
    assert page.evaluate("window.jd.alerts.ringing()") is False
    page.reload()
    page.wait_for_function("window.jd && window.jd.connected && window.jd.roadsLoaded", timeout=30_000)
    page.locator("#alarms p.silenced").wait_for(timeout=5_000)
    assert page.locator("#alarms .alarm").count() == 0

    # a second call joins the incident; split it off, then merge it back, each with a reason
    second = http.post("/v1/calls", json={**crash, "text": "another caller, same crash"}).json()
    assert second["incident_id"] == inc
    page.click(f"#incidents li[data-id='{inc}']")
    page.locator("#split-form select[name=call]").select_option(second["call_id"])
    page.fill("#split-form input[name=reason]", "a different crash, two streets away")
    page.click("#split-form button[type=submit]")
    page.wait_for_function(f"[...window.jd.incidents.values()].some(i => i.incident_id !== '{inc}')",
                           timeout=5_000)
    apart = http.get(f"/v1/calls/{second['call_id']}").json()["incident_id"]
    assert apart != inc
    page.locator(f"#merge-form select[name=source] option[value='{apart}']").wait_for(
        state="attached", timeout=5_000)
    page.locator("#merge-form select[name=source]").select_option(apart)
    page.fill("#merge-form input[name=reason]", "same crash after all")
    page.locator("#merge-form").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "console_split_merge.png"))
    page.click("#merge-form button[type=submit]")
    page.wait_for_selector(f"#incidents li[data-id='{apart}']", state="detached", timeout=5_000)
    folded = http.get(f"/v1/incidents/{apart}").json()
    assert folded["status"] == "merged" and folded["merged_into"] == inc
    timeline = http.get(f"/v1/incidents/{inc}").json()["timeline"]
    assert any("same crash after all" in e["summary"] for e in timeline)
    assert errors == []
