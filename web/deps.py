"""Typed FastAPI dependencies: how an endpoint gets the collaborators the bootstrap built.

Every endpoint names what it needs as a parameter (`coordinator: CoordinatorDep`); nothing
reaches into `app.state` by a string name elsewhere.

`Backend` is imported for the type checker only: web.bootstrap imports the feed, webhook and
audit modules, whose endpoints use these dependencies, so a runtime import would be a cycle.
FastAPI never looks at the type of a `Depends` parameter, only at the function that makes it."""

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from fastapi.requests import HTTPConnection
from starlette.applications import Starlette

from coordination.coordinator import Coordinator
from dispatch.service import DispatchService
from web.api_keys import ApiKey

if TYPE_CHECKING:
    from web.bootstrap import Backend


def started_backend(app: Starlette) -> "Backend | None":
    """The Backend the lifespan put on the app, or None while start-up has not built it yet
    (middleware sees requests before then)."""
    found: Backend | None = getattr(app.state, "backend", None)
    return found


def backend(conn: HTTPConnection) -> "Backend":
    found = started_backend(conn.app)
    if found is None:  # an app used without its lifespan (a TestClient outside `with`)
        raise RuntimeError("the backend is built by the app's lifespan; it has not started")
    return found


def service(conn: HTTPConnection) -> DispatchService:
    return backend(conn).service


def coordinator(conn: HTTPConnection) -> Coordinator:
    return backend(conn).coordinator


def identity(conn: HTTPConnection) -> ApiKey:
    """The key the access table admitted (set by web.access.authorise)."""
    key: ApiKey = conn.state.identity
    return key


BackendDep = Annotated["Backend", Depends(backend)]
ServiceDep = Annotated[DispatchService, Depends(service)]
CoordinatorDep = Annotated[Coordinator, Depends(coordinator)]
IdentityDep = Annotated[ApiKey, Depends(identity)]
