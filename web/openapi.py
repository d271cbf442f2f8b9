"""The OpenAPI document as integrators need it: valid OpenAPI 3.1, the API-key schemes /docs
authorises with, and on every operation the refusals that apply to it.

What is the same for many endpoints is derived here, once, from where it is decided: who may
call an endpoint (and so 401, 403, 429 and its security) from the access table in web.access, 413
from the body limit on every request body, the shape of 422 from the app's validation handler.
What one endpoint's decisions can refuse (404, 409) is declared on the endpoint itself."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from web.access import ACCESS, PUBLIC, Scope
from web.schemas import ErrorAnswer, schema_ref

METHODS = ("get", "put", "post", "delete", "patch")
SECURITY_SCHEMES = {
    "bearerKey": {"type": "http", "scheme": "bearer",
                  "description": "The API key as `Authorization: Bearer <key>`."},
    "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                  "description": "The API key in its own header, for clients that cannot set Bearer."},
    "queryKey": {"type": "apiKey", "in": "query", "name": "key",
                 "description": "Only for what a browser opens without headers: the event stream "
                                "(EventSource) and websockets."},
}
STREAM_ITEM_NOTE = ("A text/event-stream; each event is described by `x-itemSchema` (OpenAPI 3.2's "
                    "`itemSchema`, which a 3.1 document cannot carry).")
SCOPE_NOTES = {"agency": "own agency", "unit": "own unit", "unit_agency": "own agency's units"}


# Swagger UI's files as the fastapi-offline package ships them (Swagger UI 5, which reads OpenAPI
# 3.1): a control room's network reaches no CDN, and /docs must not be blank there.
DOCS_ASSETS = Path(fastapi_offline.__file__).with_name("static")


class DocumentedApp(FastAPI):
    """FastAPI with the finished document at /openapi.json and /docs served from local files."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(docs_url=None, redoc_url=None, **kwargs)
        self.mount("/static/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

        @self.get("/docs", include_in_schema=False)
        async def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url=self.openapi_url or "/openapi.json", title=self.title,
                                       swagger_js_url="/static/docs/swagger-ui-bundle.js",
                                       swagger_css_url="/static/docs/swagger-ui.css",
                                       swagger_favicon_url="/static/docs/favicon.png")

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = finish(super().openapi())
        return self.openapi_schema


def finish(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, method, operation in _operations(spec):
        endpoint = f"{method.upper()} {path}"
        _stream_items_for_31(operation)
        _access(operation, endpoint)
        if "requestBody" in operation:
            _refusal(operation, 413, "The request body is larger than the server takes.")
        if "422" in operation["responses"]:
            operation["responses"]["422"]["content"] = {
                "application/json": {"schema": schema_ref(ErrorAnswer)}}
    # FastAPI's own 422 shape is replaced on every operation above: the app answers its own.
    for unused in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(unused, None)
    _file_definitions(spec["paths"], components.setdefault("schemas", {}))
    return spec


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _stream_items_for_31(operation: dict[str, Any]) -> None:
    """FastAPI describes a server-sent event stream with 3.2's `itemSchema`; a 3.1 validator (and
    Swagger UI) refuse it. Keep it as an extension, with a plain string body beside it; an item
    schema the endpoint declared (`x-itemSchema` in its responses) wins over FastAPI's generic one."""
    for response in operation.get("responses", {}).values():
        for media in response.get("content", {}).values():
            generic = media.pop("itemSchema", None)
            if generic is not None:
                media.setdefault("x-itemSchema", generic)
                media.setdefault("schema", {"type": "string", "description": STREAM_ITEM_NOTE})


def _access(operation: dict[str, Any], endpoint: str) -> None:
    rules = ACCESS.get(endpoint)  # None: in no row of the table, so closed to every key
    if rules == PUBLIC:
        operation["security"] = []  # no key needed
        return
    schemes = ["bearerKey", "headerKey"] + (["queryKey"] if endpoint.endswith("/stream") else [])
    operation["security"] = [{name: []} for name in schemes]
    _refusal(operation, 401, "No key, an unknown key or a revoked one (with `WWW-Authenticate`).",
             headers={"WWW-Authenticate": 'Bearer realm="jointdispatch", with error="invalid_token" '
                                          "for an unknown or revoked key"})
    opened = ", ".join(_who(role, scope) for role, scope in (rules or {}).items()) or "no role"
    _refusal(operation, 403, f"The key lacks the role or the agency. Open to: {opened}.")
    _refusal(operation, 429, "The key's rate limit is reached (with `Retry-After`).",
             headers={"Retry-After": "Whole seconds to wait"})
    _refusal(operation, 503, "The event log cannot take or confirm a write now (Redis down, a "
             "failover under way, no replica confirmed in time): nothing is acknowledged. Retry "
             "after `Retry-After` with the same Idempotency-Key; the retry gets the first answer "
             "if the first try was recorded after all.", headers={"Retry-After": "Whole seconds to wait"})


def _who(role: str, scope: Scope) -> str:
    note = SCOPE_NOTES.get(scope.kind)
    return f"{role} ({note})" if note else str(role)


def _refusal(operation: dict[str, Any], status: int, description: str,
             headers: dict[str, str] | None = None) -> None:
    response = operation["responses"].setdefault(str(status), {})
    # An endpoint's own words about a status (a 403 its decision gives) come before the general one.
    response["description"] = " ".join(d for d in (response.get("description"), description) if d)
    response["content"] = {"application/json": {"schema": schema_ref(ErrorAnswer)}}
    if headers:
        response["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                               for name, text in headers.items()}


def _file_definitions(node: Any, schemas: dict[str, Any]) -> None:
    """Move every `$defs` that `schema_ref` left in the document into the components, where its
    `$ref`s point; a model FastAPI filed already is kept as FastAPI wrote it."""
    if isinstance(node, dict):
        for name, schema in node.pop("$defs", {}).items():
            _file_definitions(schema, schemas)
            schemas.setdefault(name, schema)
        for value in node.values():
            _file_definitions(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _file_definitions(value, schemas)

