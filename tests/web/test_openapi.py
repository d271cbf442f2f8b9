"""The OpenAPI document as an integrator reads it: valid 3.1, every answer under /v1 described,
the API-key schemes declared, refusals documented; and real answers that match their models
field for field (a view that gains a key its model does not declare fails here)."""

import inspect
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from pydantic import BaseModel, RootModel

from web import schemas, schemas_feeds, schemas_incidents, schemas_map, schemas_units, schemas_whistle
from web.app import create_app
from web.settings import Settings
from web.signal_controller_service import create_app as controller_app
from web.signal_controller_service import demo_plans

SUCCESS = ("200", "201")
MODELS: dict[str, type[BaseModel]] = {
    name: cls
    for module in (schemas, schemas_feeds, schemas_incidents, schemas_map, schemas_units, schemas_whistle)
    for name, cls in inspect.getmembers(module, inspect.isclass) if issubclass(cls, BaseModel)
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    # The document needs no Redis: it is served before (and without) the lifespan.
    app = create_app(Settings(redis_url="redis://unused"))
    found: dict[str, Any] = TestClient(app).get("/openapi.json").json()
    return found


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]


def test_the_document_is_valid_openapi_3_1(spec) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    assert "'itemSchema'" not in str(spec)  # 3.2 only; the stream keeps it as x-itemSchema


def test_the_signal_controller_service_document_is_valid_too() -> None:
    validate(controller_app(demo_plans(2), allow_faults=True).openapi())


def described(media_type: str, media: dict[str, Any], spec: dict[str, Any]) -> bool:
    if media_type == "text/event-stream":
        schema = media["x-itemSchema"]["properties"]["data"]["contentSchema"]
    elif media_type.endswith("xml"):
        return bool(media["schema"].get("type") == "string" and media["schema"].get("description"))
    else:
        schema = media["schema"]
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1] in spec["components"]["schemas"]
    return bool(schema.get("properties"))


def test_every_v1_answer_has_a_schema(spec) -> None:
    undescribed = []
    for path, method, op in operations(spec):
        if not path.startswith("/v1"):
            continue
        status = next((s for s in SUCCESS if s in op["responses"]), None)
        if status is None:
            assert set(op["responses"]) & {"204"}, (method, path)  # no body to describe
            continue
        content = op["responses"][status].get("content", {})
        if not content or not all(described(m, media, spec) for m, media in content.items()):
            undescribed.append(f"{method.upper()} {path}")
    assert not undescribed


def test_the_feed_declares_each_media_type_it_serves(spec) -> None:
    content = spec["paths"]["/v1/feeds/incidents"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "application/geo+json", "application/atom+xml",
                            "application/vnd.jointdispatch.eido-page+json"}
    assert content["application/geo+json"]["schema"]["$ref"].endswith("/GeoFeed")


def test_keys_are_declared_and_every_refusal_has_the_error_shape(spec) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerKey"] == {**schemes["bearerKey"], "type": "http", "scheme": "bearer"}
    assert schemes["headerKey"]["name"] == "X-API-Key" and schemes["headerKey"]["in"] == "header"
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    for path, method, op in operations(spec):
        if op.get("security") == []:
            continue
        assert {"bearerKey": []} in op["security"], (method, path)
        assert {"401", "403", "429"} <= set(op["responses"]), (method, path)
        if "requestBody" in op:
            assert "413" in op["responses"], (method, path)
        for status, response in op["responses"].items():
            if status.startswith("4"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorAnswer"}, (method, path, status)
    stream = spec["paths"]["/v1/feeds/incidents/stream"]["get"]
    assert {"queryKey": []} in stream["security"]  # EventSource cannot set headers
    assert "403" in spec["paths"]["/v1/incidents/{incident_id}/assign"]["post"]["responses"]
    assert "404" in spec["paths"]["/v1/incidents/{incident_id}"]["get"]["responses"]


def undeclared(value: Any, where: str = "") -> list[str]:
    """The keys of an answer that its model did not declare (they pass, but /docs hides them)."""
    if isinstance(value, RootModel):
        return undeclared(value.root, where)
    if isinstance(value, BaseModel):
        found = [f"{where}.{k}" for k in value.__pydantic_extra__ or {}]
        for name in type(value).model_fields:
            found += undeclared(getattr(value, name), f"{where}.{name}")
        return found
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in undeclared(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in undeclared(v, f"{where}.{k}")]
    return []


def check(spec: dict[str, Any], method: str, path: str, status: int, answer: Any,
          media_type: str = "application/json") -> None:
    """`answer` validates against the schema the document declares for it, and the model named
    there declares every key the answer has."""
    declared = spec["paths"][path][method]["responses"][str(status)]["content"][media_type]["schema"]
    OAS31Validator({**declared, "components": spec["components"]}).validate(answer)
    model = MODELS[declared["$ref"].rsplit("/", 1)[1]]
    assert undeclared(model.model_validate(answer)) == [], (method, path)


def test_real_answers_match_their_declared_models(client, centre, spec) -> None:
    lon, lat = centre
    call = client.post("/v1/calls", json={
        "hotline": "120", "kind": "drowning", "caller_number": "13800000009",
        "location": {"lon": lon, "lat": lat, "address": "West Lake pier"},
        "details": {"patient_condition": "not breathing", "notes": {"nested": [1, 2]}}})
    check(spec, "post", "/v1/calls", 201, call.json())
    incident_id = call.json()["incident_id"]
    check(spec, "get", "/v1/calls/{call_id}", 200, client.get(f"/v1/calls/{call.json()['call_id']}").json())
    whistle = client.post(f"/v1/incidents/{incident_id}/whistle", json={"by": "dr-xu", "agency": "120"})
    assert whistle.status_code == 201, whistle.text
    check(spec, "post", "/v1/incidents/{incident_id}/whistle", 201, whistle.json())
    # After the whistle the incident has units on their way, routes and corridors to describe.
    detail = client.get(f"/v1/incidents/{incident_id}").json()
    assert detail["units"] and detail["corridors"]
    check(spec, "get", "/v1/incidents/{incident_id}", 200, detail)
    check(spec, "get", "/v1/incidents", 200, client.get("/v1/incidents").json())
    units = client.get("/v1/units").json()
    check(spec, "get", "/v1/units", 200, units)
    moving = next(u["unit_id"] for u in units["units"] if u["incident_id"] == incident_id)
    one = client.get(f"/v1/units/{moving}").json()
    assert "route" in one and "distance_m" not in one  # a key a view leaves out stays out
    check(spec, "get", "/v1/units/{unit_id}", 200, one)
    check(spec, "get", "/v1/centre", 200, client.get("/v1/centre").json())
    note = client.post(f"/v1/incidents/{incident_id}/notes", json={"text": "two in the water", "by": "dr-xu"})
    assert note.status_code == 201, note.text
    check(spec, "post", "/v1/incidents/{incident_id}/notes", 201, note.json())
    for status in ("en_route", "on_scene"):  # on scene, the agency's check-in timer runs
        assert client.post(f"/v1/units/{moving}/status", json={"status": status}).status_code == 200
    agency = one["agency"]
    checked = client.post(f"/v1/incidents/{incident_id}/check-ins", json={"agency": agency, "by": "dr-xu"})
    assert checked.status_code == 201, checked.text
    check(spec, "post", "/v1/incidents/{incident_id}/check-ins", 201, checked.json())
    check(spec, "get", "/v1/incidents/{incident_id}", 200, client.get(f"/v1/incidents/{incident_id}").json())
    feed = client.get("/v1/feeds/incidents").json()
    check(spec, "get", "/v1/feeds/incidents", 200, feed)
    geo = client.get("/v1/feeds/incidents", params={"format": "geojson"})
    check(spec, "get", "/v1/feeds/incidents", 200, geo.json(), geo.headers["content-type"].split(";")[0])
    eidos = client.get("/v1/feeds/incidents", params={"format": "eido"})
    check(spec, "get", "/v1/feeds/incidents", 200, eidos.json(), eidos.headers["content-type"].split(";")[0])
    one = client.get(f"/v1/incidents/{incident_id}/eido").json()
    check(spec, "get", "/v1/incidents/{incident_id}/eido", 200, one)


def test_refusals_match_the_error_model(client, spec) -> None:
    missing = client.get("/v1/incidents/no-such-incident")
    assert missing.status_code == 404
    check(spec, "get", "/v1/incidents/{incident_id}", 404, missing.json())
    invalid = client.post("/v1/calls", json={"hotline": "999"})
    assert invalid.status_code == 422
    check(spec, "post", "/v1/calls", 422, invalid.json())
    keyless = client.get("/v1/units", headers={"Authorization": ""})
    assert keyless.status_code == 401
    check(spec, "get", "/v1/units", 401, keyless.json())


def test_docs_page_loads_swagger_ui_from_this_server_not_a_cdn(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "https://" not in page.text  # nothing fetched from outside a control room's network
    for asset in ("/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200
