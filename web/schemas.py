"""What every answer model shares: the base class, the one error answer, the wire types the views
use (moments, places, labels), and the route class that serves a view through its model.

The answers are built as dicts by the views (web/views.py, web/whistle_view.py), which the live
map and the feeds share; the models in web/schemas_*.py describe those dicts for /docs and check
them on the way out. They never reshape an answer:

- `extra="allow"`: a key a view gains before its model does still reaches the client (a 500 for
  a documentation gap would be worse); tests/web/test_openapi.py fails on any such key, so the
  model catches up there, not in production.
- `ViewRoute` serves with `exclude_unset`: a key a view leaves out (a unit's route when it drives
  none, `distance_m` without `near`) stays out instead of coming back as null.
- Moments stay the views' ISO strings: a datetime field would re-serialise UTC as `Z`."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

REF = "#/components/schemas/{model}"
Moment = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
LonLat = Annotated[list[float], Field(min_length=2, max_length=2, description="[lon, lat]")]


class Answer(BaseModel):
    """The base of every answer model (see the module's note on `extra`)."""

    model_config = ConfigDict(extra="allow")


def schema_ref(model: type[BaseModel]) -> dict[str, Any]:
    """A schema object naming `model` in the document's components, for a place FastAPI files no
    model itself (a second media type of one answer, an event stream's item). It carries the
    definitions along under `$defs`; web.openapi files them in the components."""
    schema = model.model_json_schema(mode="serialization", ref_template=REF)
    defs = schema.pop("$defs", {})
    return {"$ref": REF.format(model=model.__name__), "$defs": {**defs, model.__name__: schema}}


class ViewRoute(APIRoute):
    """A route whose answer is exactly its view's keys (see the module's note)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["response_model_exclude_unset"] = True
        super().__init__(path, endpoint, **kwargs)


class Location(Answer):
    lon: float | None
    lat: float | None
    address: str | None


class Label(Answer):
    """A kind's name for people, in both languages of the screens."""

    en: str
    zh: str


class FieldError(Answer):
    field: str
    message: str


class ErrorAnswer(Answer):
    """Every refusal, whatever refused it: a decision (dispatch.rejection), the access table,
    the rate limit, the body limit, or input validation."""

    error: str = Field(description="What went wrong, in one sentence.")
    field: str | None = Field(description="The field at fault (`body`, `location.lon`, "
                                          "`Idempotency-Key`, ...), or null.")
    missing: dict[str, Any] | None = Field(
        None, description="401, 403 and 429: what the key lacks (a credential, a role, an agency, "
                          "a unit, or the rate it is held to).")
    errors: list[FieldError] | None = Field(None, description="422 from input validation: every field.")


REFUSALS = {
    403: "The decision refuses it for this key's agency (the message names the agency).",
    404: "Nothing by that id (or not one this key's agency may see).",
    409: "Not allowed in the current state (the message says what the state is).",
    422: "The input or what it asks for is invalid (the message names the field).",
}


def refusals(*codes: int, said: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The refusals an endpoint's decisions can give, for its `responses=`; `said` words one in
    the endpoint's own terms. The key-, rate- and size-related ones (401, 403, 413, 429) are
    added for every endpoint by web.openapi."""
    words = {**REFUSALS, **(said or {})}
    return {code: {"model": ErrorAnswer, "description": words[code]} for code in codes}

