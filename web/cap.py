"""Feed items as OASIS CAP 1.2 alerts, gathered in an Atom feed (the usual way CAP is published).

One alert per incident change: the first is an Alert, later ones Updates that reference it, and
a closed or merged incident a Cancel. Only what the viewer may read goes in: the item has
already passed the field rules."""

from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM_NS)
ET.register_namespace("cap", CAP_NS)

CATEGORIES = {"110": "Security", "119": "Fire", "120": "Health", "122": "Transport"}
SEVERITY = {5: "Extreme", 4: "Severe", 3: "Moderate", 2: "Minor", 1: "Minor"}


def cap_time(moment: str | datetime) -> str:
    """CAP's dateTime: seconds, a numeric offset, and UTC written -00:00 (never Z)."""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    text = at.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def identifier(sender: str, incident_id: str, seq: int) -> str:
    return f"{sender}.{incident_id}.{seq}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def alert(item: dict[str, Any], sender: str, audience: str) -> ET.Element:
    inc = item["incident"]
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", identifier(sender, inc["incident_id"], item["seq"]))
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(item["at"]))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", item["msg_type"])
    _sub(root, "scope", "Restricted")
    _sub(root, "restriction", f"for {audience} only")
    if item["msg_type"] != "Alert":
        first = identifier(sender, inc["incident_id"], item["first_seq"])
        _sub(root, "references", f"{sender},{first},{cap_time(item['first_at'])}")
    _sub(root, "incidents", inc["incident_id"])
    info = _sub(root, "info")
    _sub(info, "language", "en-US")
    # the agencies acting, or before their tasks exist, the hotlines that took the calls
    for agency in sorted(inc["tasks"]) or sorted(inc.get("hotlines", [])) or ["other"]:
        _sub(info, "category", CATEGORIES.get(agency, "Other"))
    _sub(info, "event", inc["label"]["en"])
    _sub(info, "urgency", "Immediate" if inc["status"] in ("open", "dispatched", "on_scene") else "Past")
    _sub(info, "severity", SEVERITY.get(inc["severity"], "Unknown"))
    _sub(info, "certainty", "Observed")
    _sub(info, "senderName", "Joint dispatch coordinator")
    _sub(info, "headline", f"{inc['label']['en']}: {inc['status']} ({item['event']})")
    texts = [c["text"] for c in inc.get("calls", []) if c.get("text")]
    if texts:
        _sub(info, "description", "\n".join(texts))
    for name, value in (("incident_id", inc["incident_id"]), ("status", inc["status"]),
                        ("log_seq", str(item["seq"])), ("calls", str(inc["call_count"])),
                        *((f"task_{a}", t["status"]) for a, t in sorted(inc["tasks"].items()))):
        param = _sub(info, "parameter")
        _sub(param, "valueName", name)
        _sub(param, "value", value)
    area = _sub(info, "area")
    loc = inc["location"]
    _sub(area, "areaDesc", loc.get("address") or inc["label"]["en"])
    if loc.get("lon") is not None and loc.get("lat") is not None:
        _sub(area, "circle", f"{loc['lat']:.6f},{loc['lon']:.6f} 0.1")
    return root


def atom_feed(items: list[dict[str, Any]], sender: str, audience: str, self_url: str,
              next_url: str, updated: datetime) -> bytes:
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    ET.SubElement(feed, f"{{{ATOM_NS}}}id").text = f"urn:jointdispatch:{sender}:incidents:{audience}"
    ET.SubElement(feed, f"{{{ATOM_NS}}}title").text = f"Joint dispatch incidents for {audience}"
    ET.SubElement(feed, f"{{{ATOM_NS}}}updated").text = updated.replace(microsecond=0).isoformat()
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", rel="self", href=self_url)
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", rel="next", href=next_url)
    for item in items:
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        inc = item["incident"]
        ET.SubElement(entry, f"{{{ATOM_NS}}}id").text = \
            f"urn:jointdispatch:{identifier(sender, inc['incident_id'], item['seq'])}"
        ET.SubElement(entry, f"{{{ATOM_NS}}}title").text = f"{inc['label']['en']} ({item['event']})"
        ET.SubElement(entry, f"{{{ATOM_NS}}}updated").text = cap_time(item["at"])
        ET.SubElement(entry, f"{{{ATOM_NS}}}author").append(_atom_name(sender))
        content = ET.SubElement(entry, f"{{{ATOM_NS}}}content", type="application/cap+xml")
        content.append(alert(item, sender, audience))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _atom_name(sender: str) -> ET.Element:
    name = ET.Element(f"{{{ATOM_NS}}}name")
    name.text = sender
    return name
