"""The answers agency systems read: feed pages (JSON and GeoJSON; the CAP Atom feed is XML), the
server-sent event stream's items, webhooks and their dead letters, and the audit trail."""

from typing import Any, Literal

from pydantic import Field

from dispatch.agencies import Agency
from web.schemas import Answer, LonLat, Moment, schema_ref
from web.schemas_incidents import CallView, IncidentView


class FeedIncident(IncidentView):
    """The incident as it stood at the item's log position, with its calls (field rules applied)."""

    calls: list[CallView]


class FeedChange(Answer):
    """What the item changed, against the incident's previous item."""

    summary: str = Field(description="The change in a dispatcher's words (the incident's timeline line).")
    fields: list[str] = Field(description="The incident's fields that changed; a task as `tasks.<agency>`.")
    units: list[str] = Field(description="Units that came, went or changed (status, ETA, route, green wave).")
    calls: list[str] = Field(description="Calls that joined the incident.")


class FeedGreenWave(Answer):
    """The incident's green waves taken together (each unit's is in `incident.units[].green_wave`)."""

    active: bool = Field(description="A signal is still held or owed for one of its units.")
    degraded: bool = Field(description="A signal could not be reached: not every junction is covered.")
    units: list[str] = Field(description="Units with a live green wave.")
    saved_s: float = Field(description="Seconds the waves save, summed over the units.")
    uncovered: list[str] = Field(description="Signals not covered (refused, or controller unreachable).")


class FeedItem(Answer):
    cursor: str = Field(description="Resume after this item: `?cursor=`, or the stream's event id.")
    seq: int = Field(description="The log position of the change.")
    at: Moment
    event: str = Field(description="The log event that changed the incident (call_received, ...).")
    msg_type: Literal["Alert", "Update", "Cancel"] = Field(
        description="As CAP says it, for your agency: the first item of the incident you get (also when "
                    "your agency becomes entitled mid-incident), a change, or a merged-away incident.")
    first_seq: int = Field(description="The position of the first item of this incident you got.")
    first_at: Moment
    # defaults: items kept from before these fields (a webhook's dead letters) still read
    previous_seq: int | None = Field(None, description="The position of the item of this incident you "
                                                       "got before.")
    previous_at: Moment | None = None
    closing: bool = Field(False, description="The incident closed (or was merged away) here: its last CAP "
                                             "alert.")
    after_close: bool = Field(False, description="A change after it closed (units going, waves given back).")
    changed: FeedChange | None = None
    green_wave: FeedGreenWave | None = None
    incident: FeedIncident


class FeedPage(Answer):
    items: list[FeedItem]
    next_cursor: str
    more: bool = Field(description="More items are in the log already: ask again at once.")
    log_version: int


class GeoPoint(Answer):
    type: Literal["Point"]
    coordinates: LonLat


class GeoFeature(Answer):
    type: Literal["Feature"]
    id: str = Field(description="incident id @ log position")
    geometry: GeoPoint | None = Field(description="Null for an incident known by address only.")
    properties: FeedItem


class GeoFeed(Answer):
    """The feed page as a GeoJSON FeatureCollection: one Feature per item."""

    type: Literal["FeatureCollection"]
    features: list[GeoFeature]
    next_cursor: str
    more: bool
    log_version: int


class EidoDocument(Answer):
    """A NENA-STA-021 EIDO (EmergencyIncidentDataObjectType of NENA911/EIDO-JSON): the components
    below are NENA's; only the top of the document is spelled out here."""

    id: str = Field(alias="$id", description="urn:emergency:uid:incidentid:<incident>:<centre>")
    lastUpdateTimeStamp: Moment
    updatedByAgencyReference: dict[str, str]
    eidoVersion: Literal["1.0"]
    issuingElementIdentification: str
    agencyComponent: list[dict[str, Any]]
    incidentComponent: dict[str, Any]
    callComponent: list[dict[str, Any]] | None = None
    locationComponent: list[dict[str, Any]] | None = None
    emergencyResourceComponent: list[dict[str, Any]] | None = None
    dispatchComponent: list[dict[str, Any]] | None = None
    mergeComponent: list[dict[str, Any]] | None = None
    linkComponent: list[dict[str, Any]] | None = None
    personComponent: list[dict[str, Any]] | None = None
    callbackComponent: list[dict[str, Any]] | None = None
    notesComponent: list[dict[str, Any]] | None = None
    additionalDataComponent: list[dict[str, Any]] | None = None
    context: dict[str, str] = Field(alias="@context")


class EidoItem(Answer):
    """One feed item as a NENA-STA-021 EIDO (the incident as it stood at `seq`)."""

    cursor: str
    seq: int
    at: Moment
    event: str
    eido: EidoDocument = Field(description="The EIDO, field rules applied.")


class EidoFeed(Answer):
    """The feed page with `format=eido`: one EIDO per item."""

    items: list[EidoItem]
    next_cursor: str
    more: bool
    log_version: int


class WebhookView(Answer):
    webhook_id: str
    agency: Agency
    url: str
    client_id: str
    created_at: Moment


class WebhookCreated(WebhookView):
    cursor: str = Field(description="Deliveries start after this feed cursor.")


class WebhookList(Answer):
    count: int
    webhooks: list[WebhookView]


class DeadLetter(Answer):
    delivery_id: str
    attempts: int
    last_error: str
    dead_at: float = Field(description="Unix time of the last attempt.")
    body: FeedItem = Field(description="The item that was to be delivered.")


class DeadLetters(Answer):
    count: int
    dead_letters: list[DeadLetter]


class AuditEntry(Answer):
    """One audit record: who (client and key), when, from where, and what; the last fields
    depend on the kind."""

    id: str = Field(description="The entry's stream id: `after=` pages on from it.")
    at: Moment
    kind: Literal["read", "change", "key"]
    client_id: str | None
    key_id: str | None
    agency: Agency | None
    roles: list[str]
    from_: str = Field(alias="from", description="The client's address, or `cli:<user>`.")
    action: str = Field(description="METHOD /path, `WS /v1/live`, `webhook <id>`, `keys create`, ...")
    revealed: dict[str, list[str]] | None = Field(
        None, description="read: the sensitive fields shown, by call id.")
    path: str | None = Field(None, description="change: the path asked for.")
    status: int | None = Field(None, description="change: the HTTP status answered.")
    subject_key: str | None = Field(None, description="key: the key made or revoked.")
    subject_client: str | None = Field(None, description="key create: the client it is for.")
    agency_of_key: Agency | None = Field(None, description="key create: the key's agency.")
    roles_of_key: list[str] | None = Field(None, description="key create: the key's roles.")


class AuditPage(Answer):
    count: int
    entries: list[AuditEntry]
    next_after: str | None = Field(
        description="The last id read, filtered out or not: `after=` for the next page.")
    generated_at: Moment


def feed_stream_event() -> dict[str, Any]:
    """One server-sent event of the stream, as OpenAPI 3.2 describes an event stream's items."""
    return {"type": "object", "required": ["event", "data"], "properties": {
        "event": {"const": "incident"},
        "id": {"type": "string", "description": "The item's cursor; a reconnect sends it as Last-Event-ID "
                                                "(left off all but the last item of one log position)."},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "contentSchema": schema_ref(FeedItem)},
        "retry": {"type": "integer", "minimum": 0}}}
