"""Typed FastAPI dependencies: how an endpoint gets the collaborators the bootstrap built.

Every endpoint names what it needs as a parameter (`coordinator: CoordinatorDep`); nothing
reaches into `app.state` by a string name elsewhere."""

from typing import Annotated

from fastapi import Depends
from fastapi.requests import HTTPConnection

from coordination.coordinator import Coordinator
from dispatch.service import DispatchService
from web.api_keys import ApiKey
from web.bootstrap import Backend


def backend(conn: HTTPConnection) -> Backend:
    found: Backend = conn.app.state.backend
    return found


def service(conn: HTTPConnection) -> DispatchService:
    return backend(conn).service


def coordinator(conn: HTTPConnection) -> Coordinator:
    return backend(conn).coordinator


def identity(conn: HTTPConnection) -> ApiKey:
    """The key the access table admitted (set by web.access.authorise)."""
    key: ApiKey = conn.state.identity
    return key


BackendDep = Annotated[Backend, Depends(backend)]
ServiceDep = Annotated[DispatchService, Depends(service)]
CoordinatorDep = Annotated[Coordinator, Depends(coordinator)]
IdentityDep = Annotated[ApiKey, Depends(identity)]
