"""Feed items as OASIS CAP 1.2 alerts, gathered in an Atom feed (the usual way CAP is published).

Per audience (an agency, or all of them): the first alert an agency gets about an incident is an
`Alert`, even when it becomes entitled mid-incident; each later one an `Update` referencing the
alerts that agency received (its first and the one before). Closing is one final `Update`
(`responseType` AllClear, `urgency` Past); what follows a closure (units going home, green waves
given back) is in the JSON feed, not in CAP. A `Cancel` is a retraction only: an incident merged
away, a duplicate of another, whose alerts are withdrawn in favour of the one it joined.
Each alert has an `<info>` per language of the centres (en-US and zh-CN), and `status` Exercise
on a training run. Only what the viewer may read goes in: the item has passed the field rules."""

from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM_NS)
ET.register_namespace("cap", CAP_NS)

CATEGORIES = {"110": "Security", "119": "Fire", "120": "Health", "122": "Transport"}
SEVERITY = {5: "Extreme", 4: "Severe", 3: "Moderate", 2: "Minor", 1: "Minor"}
STATUS_ZH = {"open": "待派", "dispatched": "已派", "on_scene": "已到场", "closed": "已结束",
             "merged": "已合并"}


def cap_time(moment: str | datetime) -> str:
    """CAP's dateTime: seconds, a numeric offset, and UTC written -00:00 (never Z)."""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    text = at.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def identifier(sender: str, incident_id: str, seq: int, audience: str) -> str:
    """One alert per audience: two agencies' alerts of one change differ (field rules, restriction)."""
    return f"{sender}.{incident_id}.{seq}.{audience}"


def audience_code(agency: str | None) -> str:
    """The audience as an id part (no spaces): `all`, or `agency-120`."""
    return "all" if agency is None else f"agency-{agency}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def in_cap(item: dict[str, Any]) -> bool:
    """CAP tells an incident up to its closing alert; changes after it are the JSON feed's."""
    return not item.get("after_close")


def alert(item: dict[str, Any], sender: str, audience: str, code: str, exercise: bool = False) -> ET.Element:
    inc = item["incident"]
    incident_id = inc["incident_id"]
    closing = bool(item.get("closing")) and item["msg_type"] != "Cancel"
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", identifier(sender, incident_id, item["seq"], code))
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(item["at"]))
    _sub(root, "status", "Exercise" if exercise else "Actual")
    _sub(root, "msgType", item["msg_type"])
    _sub(root, "scope", "Restricted")
    _sub(root, "restriction", f"for {audience} only")
    if exercise:
        _sub(root, "note", "Training run: not a real incident.")
    if item["msg_type"] != "Alert":
        earlier = [(item["first_seq"], item["first_at"])]
        if item.get("previous_seq") is not None and item["previous_seq"] != item["first_seq"]:
            earlier.append((item["previous_seq"], item["previous_at"]))
        _sub(root, "references", " ".join(
            f"{sender},{identifier(sender, incident_id, seq, code)},{cap_time(at)}" for seq, at in earlier))
    _sub(root, "incidents", incident_id)
    for language in ("en-US", "zh-CN"):
        _info(root, item, language, closing)
    return root


def _info(root: ET.Element, item: dict[str, Any], language: str, closing: bool) -> None:
    inc = item["incident"]
    zh = language == "zh-CN"
    label = (inc["label"].get("zh") or inc["label"]["en"]) if zh else inc["label"]["en"]
    info = _sub(root, "info")
    _sub(info, "language", language)
    # the agencies acting, or before their tasks exist, the hotlines that took the calls
    for agency in sorted(inc["tasks"]) or sorted(inc.get("hotlines", [])) or ["other"]:
        _sub(info, "category", CATEGORIES.get(agency, "Other"))
    _sub(info, "event", label)
    if closing:
        _sub(info, "responseType", "AllClear")
    active = inc["status"] in ("open", "dispatched", "on_scene")
    _sub(info, "urgency", "Immediate" if active and not closing else "Past")
    _sub(info, "severity", SEVERITY.get(inc["severity"], "Unknown"))
    _sub(info, "certainty", "Observed")
    _sub(info, "senderName", "联合调度指挥平台" if zh else "Joint dispatch coordinator")
    status = STATUS_ZH.get(inc["status"], inc["status"]) if zh else inc["status"]
    told = (item.get("changed") or {}).get("summary") or item["event"]
    _sub(info, "headline", f"{label}：{status}" if zh else f"{label}: {status} ({told})")
    texts = [c["text"] for c in inc.get("calls", []) if c.get("text")]
    if texts:
        _sub(info, "description", "\n".join(texts))
    if closing:
        _sub(info, "instruction", "事件已结束，无需再行动。" if zh
             else "The incident is closed: no further action.")
    for name, value in (("incident_id", inc["incident_id"]), ("status", inc["status"]),
                        ("log_seq", str(item["seq"])), ("calls", str(inc["call_count"])),
                        *((f"task_{a}", t["status"]) for a, t in sorted(inc["tasks"].items())),
                        *((("merged_into", inc["merged_into"]),) if inc.get("merged_into") else ())):
        param = _sub(info, "parameter")
        _sub(param, "valueName", name)
        _sub(param, "value", value)
    area = _sub(info, "area")
    loc = inc["location"]
    _sub(area, "areaDesc", loc.get("address") or label)
    if loc.get("lon") is not None and loc.get("lat") is not None:
        _sub(area, "circle", f"{loc['lat']:.6f},{loc['lon']:.6f} 0.1")


def atom_feed(items: list[dict[str, Any]], sender: str, agency: str | None, self_url: str,
              next_url: str, updated: datetime, exercise: bool = False) -> bytes:
    """`agency`: the viewer's, or None for a viewer of every agency."""
    audience = "all agencies" if agency is None else f"agency {agency}"
    code = audience_code(agency)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    ET.SubElement(feed, f"{{{ATOM_NS}}}id").text = f"urn:jointdispatch:{sender}:incidents:{code}"
    ET.SubElement(feed, f"{{{ATOM_NS}}}title").text = f"Joint dispatch incidents for {audience}"
    ET.SubElement(feed, f"{{{ATOM_NS}}}updated").text = updated.replace(microsecond=0).isoformat()
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", rel="self", href=self_url)
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", rel="next", href=next_url)
    for item in filter(in_cap, items):
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        inc = item["incident"]
        ET.SubElement(entry, f"{{{ATOM_NS}}}id").text = \
            f"urn:jointdispatch:{identifier(sender, inc['incident_id'], item['seq'], code)}"
        ET.SubElement(entry, f"{{{ATOM_NS}}}title").text = f"{inc['label']['en']} ({item['event']})"
        ET.SubElement(entry, f"{{{ATOM_NS}}}updated").text = cap_time(item["at"])
        ET.SubElement(entry, f"{{{ATOM_NS}}}author").append(_atom_name(sender))
        content = ET.SubElement(entry, f"{{{ATOM_NS}}}content", type="application/cap+xml")
        content.append(alert(item, sender, audience, code, exercise))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _atom_name(sender: str) -> ET.Element:
    name = ET.Element(f"{{{ATOM_NS}}}name")
    name.text = sender
    return name
