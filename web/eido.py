"""EIDO (NENA-STA-021): the incident as another control room's CAD reads it, and the reader that
turns an EIDO a neighbouring centre sends into a call of our own.

An EIDO is rendered from the same incident view the feed carries (web/views.py), after the field
rules: a caller's number masked for a viewer appears nowhere (no callback component), medical
`details` removed for a viewer are not in the additional data. Components:

- incident: the kind (ours as the internal code), status, severity as the common priority;
- call, one per call: the hotline that took it as the queue (`120@<centre>`), its caller as a
  person with a callback, its words as a note, its `details` as additional data (JSON);
- location: the incident's, each call's, each unit's last fix and each unit's destination, as
  PIDF-LO (a GML point and/or a civic address);
- agency, one per hotline involved plus this coordinator; dispatch, one per agency that sent
  units; emergency resource, one per unit on the incident (status, location, ETA, destination
  hospital, its green wave as a note);
- merge and link: from `IncidentLinks`, which folds the log's merges and splits.

The reader accepts any EIDO that carries a call: the sample NENA publishes reads as an
address-only call (its civic address), its callback number as the caller, its comment as text."""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from dispatch import events as ev
from dispatch.rejection import Rejected
from dispatch.state import DispatchState

# A feed page of EIDOs is our own wrapper (cursor, items), so a media type of our own for it.
EIDO_PAGE_MEDIA_TYPE = "application/vnd.jointdispatch.eido-page+json"
EIDO_CONTEXT = {"@vocab": "./JSON-LD_Contexts/EmergencyIncidentDataObjectType.jsonld"}

PIDF_NS = "urn:ietf:params:xml:ns:pidf"
GP_NS = "urn:ietf:params:xml:ns:pidf:geopriv10"
GML_NS = "http://www.opengis.net/gml"
CA_NS = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"

# IANA urn:emergency:service:responder (without the prefix): what each hotline is.
AGENCY_TYPES = {"110": "police", "119": "fire", "120": "ems", "122": "police.traffic"}
AGENCY_NAMES = {"110": "110 police", "119": "119 fire", "120": "120 medical", "122": "122 traffic police"}
UNIT_TYPES = {"ambulance": "Ambulance", "patrol_car": "Law Enforcement Unit", "fire_engine": "Engine",
              "rescue_truck": "Rescue", "ladder_truck": "Ladder",
              "traffic_police_car": "Law Enforcement Unit"}
UNIT_STATUSES = {"available": "Available", "dispatched": "Dispatched", "en_route": "Enroute",
                 "on_scene": "OnScene", "transporting": "Transporting", "at_hospital": "AtDestination",
                 "returning": "Returning", "out_of_service": "OutOfService"}
INCIDENT_STATUSES = {"open": "Pending", "dispatched": "Dispatched", "on_scene": "OnScene",
                     "closed": "Closed", "merged": "Merged"}


@dataclass(frozen=True)
class Link:
    """One incident's tie to another: merged (REPLACING / REPLACED), split off (SPLIT)."""

    code: str
    other_id: str
    at: datetime
    reason: str


class IncidentLinks:
    """Merges and splits by incident, folded from the log (replay included) like the feed."""

    def __init__(self) -> None:
        self.links: dict[str, list[Link]] = {}
        self._split_from: dict[str, tuple[str, str]] = {}  # call id -> (incident it left, why)

    def on_event(self, e: ev.Event) -> None:
        match e:
            case ev.IncidentsMerged():
                self._add(e.target_id, Link("REPLACING", e.source_id, e.at, e.reason))
                self._add(e.source_id, Link("REPLACED", e.target_id, e.at, e.reason))
            case ev.CallSplit():
                self._split_from[e.call_id] = (e.from_incident_id, e.reason)
            case ev.IncidentOpened() if e.call_id in self._split_from:
                old, why = self._split_from.pop(e.call_id)
                self._add(old, Link("SPLIT", e.incident_id, e.at, why))
                self._add(e.incident_id, Link("SPLIT", old, e.at, why))

    def _add(self, incident_id: str, link: Link) -> None:
        self.links.setdefault(incident_id, []).append(link)

    def of(self, incident_id: str) -> tuple[Link, ...]:
        return tuple(self.links.get(incident_id, ()))


@dataclass(frozen=True)
class Centre:
    """Who issues the EIDOs: this coordinator's domain, and the places it knows by id."""

    domain: str
    hospitals: dict[str, dict[str, Any]]  # hospital id -> {"name", "lon", "lat"}

    @property
    def agency_id(self) -> str:
        return self.domain

    def hotline(self, agency: str) -> str:
        return f"{agency}.{self.domain}"

    def incident_uri(self, incident_id: str) -> str:
        return f"urn:emergency:uid:incidentid:{incident_id}:{self.domain}"

    def call_uri(self, call_id: str) -> str:
        return f"urn:emergency:uid:callid:{call_id}:{self.domain}"

    def uri(self, what: str, *local: str) -> str:
        return f"urn:jointdispatch:{self.domain}:{what}:{':'.join(local)}"

    def queue(self, hotline: str) -> str:
        return f"{hotline}@{self.domain}"


def _ref(target: str) -> dict[str, str]:
    return {"$ref": target}


class _Document:
    """Components gathered while an EIDO is built, each with the prologue every one carries."""

    def __init__(self, centre: Centre, at: str) -> None:
        self.centre, self.at = centre, at
        self.parts: dict[str, list[dict[str, Any]]] = {}
        self.ids: set[str] = set()

    def add(self, kind: str, component_id: str, body: dict[str, Any], at: str | None = None,
            by: str | None = None) -> str:
        if component_id not in self.ids:
            self.ids.add(component_id)
            self.parts.setdefault(kind, []).append({
                "$id": component_id, "lastUpdateTimeStamp": at or self.at,
                "updatedByAgencyReference": _ref(by or self.centre.agency_id), **body})
        return component_id

    def note(self, key: str, text: str, at: str | None = None) -> dict[str, str]:
        return _ref(self.add("notesComponent", self.centre.uri("note", key),
                             {"notesActionComments": _html(text)}, at))

    def location(self, key: str, kind: str, lon: float | None, lat: float | None, address: str | None,
                 description: str | None = None, at: str | None = None) -> dict[str, str] | None:
        if (lon is None or lat is None) and not address:
            return None
        body: dict[str, Any] = {"locationTypeDescriptionRegistryText": kind,
                                "locationByValue": pidf_lo(key, lon, lat, address)}
        if description or address:
            body["locationDescriptionText"] = description or address
        return _ref(self.add("locationComponent", self.centre.uri("location", key), body, at))


def _html(text: str) -> str:
    """A note is HTML5: the words escaped, line breaks kept."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<p>" + escaped.replace("\n", "<br>") + "</p>"


def pidf_lo(entity: str, lon: float | None, lat: float | None, address: str | None) -> str:
    """A PIDF-LO document with a WGS84 point (GML, lat before lon) and/or the address as text."""
    presence = ET.Element(f"{{{PIDF_NS}}}presence", entity=f"pres:{entity}")
    tup = ET.SubElement(presence, f"{{{PIDF_NS}}}tuple", id="location")
    status = ET.SubElement(tup, f"{{{PIDF_NS}}}status")
    geopriv = ET.SubElement(status, f"{{{GP_NS}}}geopriv")
    info = ET.SubElement(geopriv, f"{{{GP_NS}}}location-info")
    if lon is not None and lat is not None:
        point = ET.SubElement(info, f"{{{GML_NS}}}Point", srsName="urn:ogc:def:crs:EPSG::4326")
        ET.SubElement(point, f"{{{GML_NS}}}pos").text = f"{lat:.6f} {lon:.6f}"
    if address:
        civic = ET.SubElement(info, f"{{{CA_NS}}}civicAddress")
        ET.SubElement(civic, f"{{{CA_NS}}}LOC").text = address
    ET.SubElement(geopriv, f"{{{GP_NS}}}usage-rules")
    return ET.tostring(presence, encoding="unicode")


def eido(incident: dict[str, Any], links: Iterable[Link], centre: Centre, at: str,
         positions: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The EIDO of one incident view (with its calls, already through the field rules) as at
    `at`; `positions` are units' last fixes ({"lon", "lat", "at"}) when the caller has them."""
    doc = _Document(centre, at)
    inc_id = incident["incident_id"]
    first_hotline = next((c["hotline"] for c in incident.get("calls", [])), None)
    involved = {*incident.get("hotlines", []), *incident["tasks"],
                *(u["agency"] for u in incident.get("units", []))}
    for hotline in sorted(involved):
        roles = (["CallReceiving"] if hotline in incident.get("hotlines", []) else []) + \
            (["Dispatching", "Responding"] if hotline in incident["tasks"] else [])
        doc.add("agencyComponent", centre.hotline(hotline), {
            "agencyRoleDescriptionRegistryText": roles, "agencyType": [AGENCY_TYPES.get(hotline, "other")],
            "agencyJcard": json.dumps(["vcard", [["fn", {}, "text", AGENCY_NAMES.get(hotline, hotline)]]]),
            "incidentOwningAgencyIndicator": hotline == first_hotline}, by=centre.hotline(hotline))
    doc.add("agencyComponent", centre.agency_id, {
        "agencyRoleDescriptionRegistryText": ["Coordinating"], "agencyType": ["psap"],
        "agencyJcard": json.dumps(["vcard", [["fn", {}, "text", "Joint dispatch coordinator"]]]),
        "incidentOwningAgencyIndicator": False})

    loc = incident["location"]
    places = [r for r in [doc.location(f"{inc_id}:incident", "Incident", loc.get("lon"), loc.get("lat"),
                                       loc.get("address"))] if r]
    calls = [_call(doc, c) for c in incident.get("calls", [])]
    resources = [_resource(doc, inc_id, u, (positions or {}).get(u["unit_id"]))
                 for u in incident.get("units", [])]
    by_agency: dict[str, list[dict[str, str]]] = {}
    for unit, ref in zip(incident.get("units", []), resources, strict=True):
        by_agency.setdefault(unit["agency"], []).append(ref)
    for agency, refs in sorted(by_agency.items()):
        doc.add("dispatchComponent", centre.uri("dispatch", inc_id, agency), {
            "agencyReference": _ref(centre.hotline(agency)), "emergencyResourceReference": refs},
            by=centre.hotline(agency))

    status = incident["status"]
    tasks = incident["tasks"]
    body: dict[str, Any] = {
        "incidentTypeCommonRegistryText": _incident_type(incident),
        "incidentTypeInternalCode": incident["kind"],
        "incidentTypeInternalText": incident["label"]["en"],
        "incidentStatusCommonRegistryText": [INCIDENT_STATUSES.get(status, status)],
        "incidentStatusInternalText": [status, *(f"task {a}: {t['status']}"
                                                 for a, t in sorted(tasks.items()))],
        "internalIncidentId": inc_id,
        "incidentCommonPriorityNumber": int(incident["severity"]),
        "incidentPriorityInternalText": f"severity {incident['severity']} of 5",
        "locationReference": places,
        "personReference": [p for c in calls for p in c],
    }
    if status in ("closed", "merged"):
        body["dispositionComponent"] = [{
            "$id": centre.uri("disposition", inc_id), "lastUpdateTimeStamp": at,
            "updatedByAgencyReference": _ref(centre.agency_id),
            "dispositionCommonRegistryCode": "Merged" if status == "merged" else "Closed",
            "dispositionPrimaryIndicator": True,
            **({"dispositionDescriptionText": f"merged into {incident['merged_into']}"}
               if incident.get("merged_into") else {})}]
    doc.add("incidentComponent", centre.incident_uri(inc_id), body)

    for link in links:
        other = centre.incident_uri(link.other_id)
        key = f"{inc_id}:{link.code}:{link.other_id}"
        if link.code in ("REPLACING", "REPLACED", "SPLIT"):
            doc.add("mergeComponent", centre.uri("merge", key), {
                "incidentTrackingIdentifier": other, "incidentMergeDirectionCode": link.code},
                at=link.at.isoformat())
        if link.code == "SPLIT":  # taken apart, still about one caller's story: related
            doc.add("linkComponent", centre.uri("link", key), {
                "incidentTrackingIdentifier": other, "linkDirectionCode": "RELATED",
                "transactionReasonText": link.reason}, at=link.at.isoformat())

    out: dict[str, Any] = {
        "$id": centre.incident_uri(inc_id), "lastUpdateTimeStamp": at,
        "updatedByAgencyReference": _ref(centre.agency_id), "eidoVersion": "1.0",
        "issuingElementIdentification": f"eido.{centre.domain}",
    }
    single = {"incidentComponent"}
    for kind, parts in doc.parts.items():
        out[kind] = parts[0] if kind in single else parts
    out["@context"] = dict(EIDO_CONTEXT)
    return out


def _incident_type(incident: dict[str, Any]) -> str:
    """A common word for the kind, by the agencies that act on it (the kind itself is the
    internal code)."""
    agencies = set(incident["tasks"]) or set(incident.get("hotlines", []))
    if "119" in agencies:
        return "Fire"
    if "120" in agencies and "110" not in agencies:
        return "Medical"
    if agencies <= {"122"} and agencies:
        return "Traffic"
    return "Law Enforcement" if agencies else "Other"


def _call(doc: _Document, call: dict[str, Any]) -> list[dict[str, str]]:
    """The call's components; returns the references to its caller (a person)."""
    centre, call_id = doc.centre, call["call_id"]
    received = call["received_at"]
    hotline = call["hotline"]
    loc = call.get("location") or {}
    body: dict[str, Any] = {
        "queueIdentifier": centre.queue(hotline), "standardPrimaryCallType": "emergency",
        "localCallType": call["kind"], "direction": "incoming", "callStartTimestamp": received,
        "answerDate": received, "callStateRegistryText": "callAnswered",
        "agencyReference": [_ref(centre.hotline(hotline))],
    }
    where = doc.location(f"{call_id}:caller", "Caller", loc.get("lon"), loc.get("lat"), loc.get("address"),
                         at=received)
    if where:
        body["locationReference"] = [where]
    if call.get("text"):
        body["notesReference"] = [doc.note(f"{call_id}:text", call["text"], received)]
    if call.get("details"):
        data = doc.add("additionalDataComponent", centre.uri("data", call_id), {
            "additionalDataByValue": json.dumps(call["details"], ensure_ascii=False, sort_keys=True),
            "urlPurpose": "call details (JSON)"}, received, centre.hotline(hotline))
        body["additionalDataReference"] = [_ref(data)]
    person: dict[str, Any] = {"personIncidentRoleRegistryText": ["Caller"],
                              "callIdentifier": [centre.call_uri(call_id)]}
    number = call.get("caller_number")
    if number and "*" not in number:  # a masked number calls no one back: it stays out
        callback = doc.add("callbackComponent", centre.uri("callback", call_id), {
            "callBackInformationUri": [f"tel:{re.sub(r'[ -]', '', number)}"]},
            received, centre.hotline(hotline))
        body["callBackReference"] = person["callBackReference"] = _ref(callback)
    if where:
        person["locationReference"] = [where]
    caller = doc.add("personComponent", centre.uri("person", call_id, "caller"), person, received,
                     centre.hotline(hotline))
    body["personReference"] = [_ref(caller)]
    doc.add("callComponent", centre.call_uri(call_id), body, received, centre.hotline(hotline))
    return [_ref(caller)]


def _resource(doc: _Document, incident_id: str, unit: dict[str, Any],
              fix: dict[str, Any] | None) -> dict[str, str]:
    centre, unit_id = doc.centre, unit["unit_id"]
    agency = centre.hotline(unit["agency"])
    at = unit.get("status_at") or doc.at
    status = unit["status"]
    body: dict[str, Any] = {
        "emergencyResourceTypeCommonRegistryText": UNIT_TYPES.get(unit["kind"], "Other"),
        "emergencyResourceTypeInternalText": unit["kind"],
        "emergencyResourceName": unit.get("call_sign") or unit_id,
        "resourceAttributeRegistryText": [],
        "primaryUnitStatusRegistryText": UNIT_STATUSES.get(status, status),
        "secondaryUnitStatusRegistryText": [], "unitStatusInternal": [status],
        "agentReference": [], "activeOnIncidentId": centre.incident_uri(incident_id),
    }
    if fix is not None:
        place = doc.location(f"{unit_id}:fix", "Unit", fix["lon"], fix["lat"], None,
                             f"{unit.get('call_sign') or unit_id}, last fix", fix.get("at"))
        if place:
            body["unitLocationReference"] = place
    route = unit.get("route")
    if route:
        hospital = centre.hospitals.get(route.get("hospital_id") or "")
        lon, lat = route["destination"]
        if hospital is not None:
            dest = doc.location(f"hospital:{route['hospital_id']}", "Destination", lon, lat, None,
                                f"hospital {route['hospital_id']}: {hospital['name']}")
        else:
            dest = doc.location(f"{unit_id}:{incident_id}:scene", "Destination", lon, lat, None,
                                f"the scene of {incident_id}")
        if dest:
            body["unitDestinationReference"] = dest
        body["eta"] = route["arrive_by"]
    notes = []
    wave = unit.get("green_wave")
    if wave:
        said = "active" if wave["active"] else "released"
        if wave["degraded"]:
            said += ", degraded"
        uncovered = f"; not covered: {', '.join(wave['uncovered'])}" if wave["uncovered"] else ""
        notes.append(doc.note(f"{unit_id}:{incident_id}:green_wave",
                              f"green wave {said}, saves {wave['saved_s']} s{uncovered}"))
    if notes:
        body["notesReference"] = notes
    return _ref(doc.add("emergencyResourceComponent", centre.uri("unit", unit_id, incident_id), body, at,
                        agency))


# -- the reader --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadCall:
    """What an EIDO says about its call, in the terms of our intake (web.incidents_api.CallIn)."""

    hotline: str | None
    kind: str | None
    received_at: str | None
    caller_number: str | None
    lon: float | None
    lat: float | None
    address: str | None
    text: str
    details: dict[str, Any]
    idempotency_key: str


def _need(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise Rejected(422, where, f"{where} must be {names}")
    return value


def read_call(doc: Any, known_kinds: Iterable[str], domain: str) -> ReadCall:
    """The (latest) call of an EIDO; 422 naming the field where the document does not hold."""
    doc = _need(doc, dict, "body")
    calls = _need(doc.get("callComponent"), list, "callComponent")
    if not calls:
        raise Rejected(422, "callComponent", "the EIDO carries no call to take")
    by_id: dict[str, dict[str, Any]] = {}
    for name in ("locationComponent", "callbackComponent", "notesComponent", "additionalDataComponent",
                 "personComponent"):
        for i, part in enumerate(_need(doc.get(name, []), list, name)):
            part = _need(part, dict, f"{name}[{i}]")
            by_id[str(part.get("$id"))] = part
    index = max(range(len(calls)), key=lambda i: str(_need(calls[i], dict, f"callComponent[{i}]")
                                                    .get("callStartTimestamp", "")))
    call, where = calls[index], f"callComponent[{index}]"
    call_id = _need(call.get("$id"), str, f"{where}.$id")
    started = call.get("callStartTimestamp")
    if started is not None:
        _need(started, str, f"{where}.callStartTimestamp")
        try:
            if datetime.fromisoformat(started).tzinfo is None:
                raise ValueError
        except ValueError:
            raise Rejected(422, f"{where}.callStartTimestamp",
                           f"{started!r} is not a moment with a UTC offset") from None

    def referenced(name: str) -> list[dict[str, Any]]:
        refs = call.get(name) or []
        refs = [refs] if isinstance(refs, dict) else _need(refs, list, f"{where}.{name}")
        return [by_id[r["$ref"]] for r in refs if isinstance(r, dict) and r.get("$ref") in by_id]

    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    for place in referenced("locationReference"):
        value = place.get("locationByValue")
        if not isinstance(value, str):
            continue  # by reference only: we do not fetch a stranger's URL
        p_lon, p_lat, p_address = read_pidf_lo(value, f"{where}.locationReference")
        if lon is None and p_lon is not None:
            lon, lat = p_lon, p_lat
        address = address or p_address
    number: str | None = None
    for callback in referenced("callBackReference"):
        for uri in callback.get("callBackInformationUri") or []:
            if isinstance(uri, str) and uri.startswith("tel:"):
                number = number or uri[4:].split(";")[0]
    texts = [_text(n.get("notesActionComments")) for n in referenced("notesReference")]
    texts += [_comment(a.get("additionalDataByValue")) for a in referenced("additionalDataReference")]
    incident = doc.get("incidentComponent")
    incident = incident[0] if isinstance(incident, list) and incident else incident
    kind: str | None = None
    if isinstance(incident, dict):
        code = incident.get("incidentTypeInternalCode")
        kind = code if isinstance(code, str) and code in set(known_kinds) else None
    local = call.get("localCallType")
    if kind is None and isinstance(local, str) and local in set(known_kinds):
        kind = local
    queue = call.get("queueIdentifier")
    hotline: str | None = None
    if isinstance(queue, str) and queue.endswith(f"@{domain}") and queue.split("@")[0] in AGENCY_TYPES:
        hotline = queue.split("@")[0]
    details = {"eido": {k: v for k, v in (("incident", doc.get("$id")), ("call", call_id), ("queue", queue),
                                          ("issuer", doc.get("issuingElementIdentification")))
                        if isinstance(v, str)}}
    return ReadCall(hotline=hotline, kind=kind, received_at=started, caller_number=number, lon=lon, lat=lat,
                    address=address, text="\n".join(t for t in texts if t)[:2000], details=details,
                    idempotency_key=f"eido:{call_id}"[:128])


CIVIC_ORDER = ("NAM", "HNO", "HNS", "PRD", "RD", "STS", "POD", "LOC", "A6", "A5", "A4", "A3", "A2", "A1",
               "PC", "country")


def read_pidf_lo(text: str, where: str) -> tuple[float | None, float | None, str | None]:
    """(lon, lat, address) from a PIDF-LO: the first GML position, the first civic address."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # no entity tricks from a stranger's document
        raise Rejected(422, where, "a location with a DOCTYPE is not read")
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as e:
        raise Rejected(422, where, f"the PIDF-LO is not XML: {e}") from None
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    for el in root.iter():
        name = el.tag.rsplit("}", 1)[-1]
        if name == "pos" and lon is None and el.text:
            try:
                lat, lon = (float(x) for x in el.text.split()[:2])
            except ValueError:
                raise Rejected(422, where, f"gml:pos {el.text!r} is not 'lat lon'") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise Rejected(422, where, f"gml:pos {el.text!r} is not on the earth")
        if name == "civicAddress" and address is None:
            parts = {c.tag.rsplit("}", 1)[-1]: (c.text or "").strip() for c in el}
            words = [parts[k] for k in CIVIC_ORDER if parts.get(k)]
            address = " ".join(words)[:300] or None
    return lon, lat, address


def _text(html: Any) -> str:
    return re.sub(r"<[^>]+>", " ", html).strip() if isinstance(html, str) else ""


def _comment(value: Any) -> str:
    """The words of an RFC 7852 Comment block; other additional data is not a caller's words."""
    if not isinstance(value, str) or "EmergencyCallData:Comment" not in value or "<!DOCTYPE" in value:
        return ""
    try:
        root = ET.fromstring(value.strip())
    except ET.ParseError:
        return ""
    return " ".join((el.text or "").strip() for el in root.iter() if el.tag.endswith("}Comment"))


def unit_fixes(state: DispatchState, latest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Units' last fixes as the EIDO takes them, from the position store's answer."""
    return {uid: {"lon": p.lon, "lat": p.lat, "at": p.at.isoformat()} for uid, p in latest.items()
            if p is not None and uid in state.units}
