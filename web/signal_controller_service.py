"""A small signal controller service speaking the green-wave protocol (PROTOCOL.md) over HTTP,
backed by the simulated controller. It runs as its own process, for tests and the demo, and is the
reference a controller vendor can compare against:

    python -m web.signal_controller_service --port 8765 [--plans district.yaml] [--junctions 20]

It lives in web, not greenwave, because it is an edge process built on FastAPI; the domain
code it serves stays free of the web layer."""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from greenwave.messages import PriorityAnswer, PriorityRequest, Reason, RequestType, SignalStatus, refused
from greenwave.signal_plan import SignalPlan, default_plan, load_district_plans
from greenwave.simulated_controller import SimulatedController


class Health(BaseModel):
    ok: bool
    junctions: int
    time: float = Field(description="The controller's clock, Unix seconds: windows are in it.")


# An unknown junction or request is answered in the protocol's own shape, with its reason.
UNKNOWN = {404: {"model": PriorityAnswer,
                 "description": "Unknown junction or request (`reason` says which)."}}


class Fault(BaseModel):
    """Test-only fault injection: make every protocol answer this slow."""

    delay_s: float = Field(default=0.0, ge=0.0, le=30.0)


def demo_plans(count: int) -> dict[str, SignalPlan]:
    """Junctions J1..Jn, each a four-arm crossing N/S against E/W, offsets staggered along a line."""
    return {f"J{i}": default_plan(f"J{i}", [["N", "S"], ["E", "W"]], "secondary", offset_s=(i * 17.0) % 90)
            for i in range(1, count + 1)}


def create_app(plans: dict[str, SignalPlan], allow_faults: bool = False) -> FastAPI:
    app = FastAPI(title="greenwave controller", version="1")
    controller = SimulatedController(plans, time.time)
    lock = threading.Lock()  # the simulated controller is not thread-safe; sync routes run in a pool
    fault = Fault()

    def slow() -> None:
        if fault.delay_s:
            time.sleep(fault.delay_s)

    def answer(a: PriorityAnswer) -> JSONResponse:
        code = 404 if a.reason in (Reason.UNKNOWN_JUNCTION, Reason.UNKNOWN_REQUEST) else 200
        return JSONResponse(a.model_dump(mode="json"), status_code=code)

    @app.get("/v1/health")
    def health() -> Health:
        return Health(ok=True, junctions=len(plans), time=time.time())

    @app.post("/v1/junctions/{junction_id}/requests", response_model=PriorityAnswer, responses=UNKNOWN)
    def post_request(junction_id: str, req: PriorityRequest) -> JSONResponse:
        slow()
        if req.junction_id != junction_id:
            raise HTTPException(422, "junction_id: body and path differ")
        with lock:
            return answer(controller.request(req))

    @app.put("/v1/junctions/{junction_id}/requests/{request_id}", response_model=PriorityAnswer,
             responses=UNKNOWN)
    def put_request(junction_id: str, request_id: str, req: PriorityRequest) -> JSONResponse:
        slow()
        if req.junction_id != junction_id or req.request_id != request_id:
            raise HTTPException(422, "junction_id/request_id: body and path differ")
        with lock:
            if req.request_type is RequestType.CANCEL:
                return answer(controller.cancel(request_id, junction_id))
            return answer(controller.update(req))

    @app.delete("/v1/junctions/{junction_id}/requests/{request_id}", response_model=PriorityAnswer,
                responses=UNKNOWN)
    def delete_request(junction_id: str, request_id: str) -> JSONResponse:
        slow()
        with lock:
            return answer(controller.cancel(request_id, junction_id))

    @app.get("/v1/junctions/{junction_id}/status", response_model=SignalStatus, responses=UNKNOWN)
    def status(junction_id: str) -> JSONResponse:
        with lock:
            st = controller.status(junction_id)
        if st is None:
            return answer(refused("", junction_id, Reason.UNKNOWN_JUNCTION))
        return JSONResponse(st.model_dump(mode="json"))

    if allow_faults:
        @app.post("/v1/test/fault")
        def set_fault(body: Fault) -> Fault:
            fault.delay_s = body.delay_s
            return fault

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--plans", type=Path, help="district plan file (YAML or JSON)")
    parser.add_argument("--junctions", type=int, default=20, help="demo junctions J1..Jn when no --plans")
    parser.add_argument("--allow-faults", action="store_true", help="enable /v1/test/fault (tests only)")
    args = parser.parse_args(argv)
    plans = load_district_plans(args.plans) if args.plans else demo_plans(args.junctions)
    uvicorn.run(create_app(plans, args.allow_faults), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
