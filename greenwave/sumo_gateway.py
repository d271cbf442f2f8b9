"""A signal gateway whose controllers are Eclipse SUMO's traffic lights, driven through libsumo
(or a TraCI connection, which has the same API).

Each SUMO traffic light whose id is one of our signal ids runs its fixed-time plan as a SUMO
programme. Priority requests are decided by the same junction controller the in-process
simulated controller uses (arbitration, minimum green and pedestrian clearance before a cut,
yellow and all-red, the safety maximum), and the intervals it chooses are shown on SUMO's links
with `setRedYellowGreenState`. Once the junction is back in step with its plan and no window is
live, the programme is restored with `setProgram` + `setPhase` + `setPhaseDuration`, so SUMO
runs the plan on its own again. The coordinator sees only the SignalGateway interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traci import StepListener

from greenwave.messages import (
    AnswerStatus,
    ApproachState,
    PriorityAnswer,
    PriorityRequest,
    Reason,
    RequestType,
    SignalStatus,
    refused,
)
from greenwave.signal_plan import Interval, SignalPlan
from greenwave.simulated_controller import JunctionController

PROGRAM_ID = "greenwave-plan"
# Left turns and turnarounds cross the opposing through traffic that shares their phase: they get
# SUMO's minor green ("g", must yield) rather than the major green ("G").
MINOR_TURNS = frozenset({"l", "L", "t"})
EPS = 1e-6


def _sumo_errors(sim: Any) -> tuple[type[BaseException], ...]:
    err = getattr(sim, "TraCIException", None) or getattr(getattr(sim, "exceptions", None),
                                                          "TraCIException", None)
    return (err, RuntimeError) if isinstance(err, type) else (RuntimeError,)


@dataclass
class SumoJunction:
    """One SUMO traffic light: its controller, link-to-approach table and the plan as states."""

    tls_id: str
    controller: JunctionController
    link_approach: list[str | None]  # per SUMO link index: the approach it leaves from
    states: dict[tuple[int, Interval], str]  # the state string shown in each plan interval
    program_index: dict[tuple[int, Interval], int]  # where that interval sits in the SUMO programme
    overridden: bool = False  # SUMO shows the controller's states, not its own programme
    shown: str = ""

    @property
    def plan(self) -> SignalPlan:
        return self.controller.plan

    def state_now(self) -> str:
        return self.states[(self.controller.phase, self.controller.interval)]


class SumoSignalGateway:
    """SignalGateway over the traffic lights of a running SUMO simulation.

    `sim` is the libsumo module (or a traci connection); `plans` the signal plans by signal id;
    `approach_of_edge` maps SUMO edge ids to approach names ("u->v"), the vendor's approach table;
    `epoch` is the absolute time (UNIX seconds) of simulation time 0, so requests carry absolute
    times as on the wire. Signals in SUMO without a plan, or whose links cannot all be named, are
    listed in `unmapped` and answer `unknown_junction`."""

    def __init__(self, sim: Any, plans: Mapping[str, SignalPlan], approach_of_edge: Mapping[str, str],
                 epoch: float, max_hold_s: float = 60.0, max_shift_s: float = 90.0) -> None:
        self.sim = sim
        self.epoch = epoch
        self._errors = _sumo_errors(sim)
        self.junctions: dict[str, SumoJunction] = {}
        self.unmapped: dict[str, str] = {}
        now = self.clock()
        for tls in sim.trafficlight.getIDList():
            plan = plans.get(tls)
            if plan is None:
                self.unmapped[tls] = "no signal plan"
                continue
            j = self._junction(tls, plan, approach_of_edge, now, max_hold_s, max_shift_s)
            if j is not None:
                self.junctions[tls] = j
                self._resume_plan(j, now)
        self.closed = False
        self._listener_id: int | None = sim.addStepListener(_Follow(self))

    def close(self) -> None:
        """Stop following the simulation (before it is closed; SUMO keeps step listeners across a
        close and a new start in the same process)."""
        self.closed = True
        if self._listener_id is not None:
            self.sim.removeStepListener(self._listener_id)
            self._listener_id = None

    def clock(self) -> float:
        return self.epoch + float(self.sim.simulation.getTime())

    # --- setting up a junction ---------------------------------------------------------------------------

    def _junction(self, tls: str, plan: SignalPlan, approach_of_edge: Mapping[str, str], now: float,
                  max_hold_s: float, max_shift_s: float) -> SumoJunction | None:
        sim = self.sim
        links = sim.trafficlight.getControlledLinks(tls)
        approaches: list[str | None] = []
        minor: list[bool] = []
        for link in links:
            if not link:  # an index with no connection (SUMO keeps the slot)
                approaches.append(None)
                minor.append(False)
                continue
            in_lane, _, via = link[0]
            approach = approach_of_edge.get(sim.lane.getEdgeID(in_lane))
            if approach is None or approach not in plan.approaches:
                self.unmapped[tls] = f"link from lane {in_lane} has no approach in the plan"
                return None
            approaches.append(approach)
            direction = next((lk[6] for lk in sim.lane.getLinks(in_lane) if lk[4] == via), "s")
            minor.append(direction in MINOR_TURNS)
        states: dict[tuple[int, Interval], str] = {}
        program: list[Any] = []
        index: dict[tuple[int, Interval], int] = {}
        for k, ph in enumerate(plan.phases):
            green = "".join(("g" if m else "G") if a in ph.approaches else "r"
                            for a, m in zip(approaches, minor, strict=True))
            yellow = "".join("y" if a in ph.approaches else "r" for a in approaches)
            for interval, state, length in ((Interval.GREEN, green, ph.green_s),
                                            (Interval.YELLOW, yellow, ph.yellow_s),
                                            (Interval.ALL_RED, "r" * len(approaches), ph.all_red_s)):
                states[(k, interval)] = state
                if length > 0:
                    index[(k, interval)] = len(program)
                    program.append(sim.trafficlight.Phase(float(length), state))
        sim.trafficlight.setProgramLogic(tls, sim.trafficlight.Logic(PROGRAM_ID, 0, 0, program))
        controller = JunctionController(plan, now, max_hold_s, max_shift_s)
        return SumoJunction(tls, controller, approaches, states, index)

    # --- showing what the controller decides -------------------------------------------------------------

    def _resume_plan(self, j: SumoJunction, now: float) -> None:
        """Hand the junction back to SUMO's programme, at the plan's own place in its cycle."""
        pos = j.plan.position_at(now + EPS)
        tl = self.sim.trafficlight
        tl.setProgram(j.tls_id, PROGRAM_ID)
        tl.setPhase(j.tls_id, j.program_index[(pos.phase_index, pos.interval)])
        tl.setPhaseDuration(j.tls_id, max(pos.interval_end - now, 0.0))
        j.overridden = False
        j.shown = ""

    def _in_step_with_plan(self, j: SumoJunction, now: float) -> bool:
        c = j.controller
        if c.live_calls(now):
            return False
        pos = j.plan.position_at(now + EPS)
        return (c.phase, c.interval) == (pos.phase_index, pos.interval) and \
            abs(c.interval_end() - pos.interval_end) < 1e-3

    def _show(self, j: SumoJunction, now: float) -> None:
        j.controller.advance(now)
        if self._in_step_with_plan(j, now):
            self._resume_plan(j, now)
            return
        state = j.state_now()
        if state != j.shown:
            self.sim.trafficlight.setRedYellowGreenState(j.tls_id, state)
            j.shown = state
        j.overridden = True

    def follow(self) -> None:
        """After each simulation step: show every junction that is off its programme."""
        now = self.clock()
        for j in self.junctions.values():
            if j.overridden:
                self._show(j, now)

    # --- the SignalGateway interface ---------------------------------------------------------------------

    def request(self, req: PriorityRequest) -> PriorityAnswer:
        j = self.junctions.get(req.junction_id)
        if j is None:
            return refused(req.request_id, req.junction_id, Reason.UNKNOWN_JUNCTION,
                           self.unmapped.get(req.junction_id, ""))
        now = self.clock()
        try:
            if req.request_type is RequestType.CANCEL:
                answer = j.controller.cancel(req.junction_id, req.request_id, now)
            else:
                answer = j.controller.request(req.junction_id, req, now)
            if answer.status in (AnswerStatus.GRANTED, AnswerStatus.QUEUED) or j.overridden:
                self._show(j, now)
        except self._errors as e:  # SUMO refused a command: the junction is not covered
            return refused(req.request_id, req.junction_id, Reason.CONTROLLER_ERROR, str(e), degraded=True)
        return answer

    def update(self, req: PriorityRequest) -> PriorityAnswer:
        return self.request(req)

    def cancel(self, request_id: str, junction_id: str) -> PriorityAnswer:
        j = self.junctions.get(junction_id)
        if j is None:
            return refused(request_id, junction_id, Reason.UNKNOWN_JUNCTION,
                           self.unmapped.get(junction_id, ""))
        now = self.clock()
        try:
            answer = j.controller.cancel(junction_id, request_id, now)
            if j.overridden:
                self._show(j, now)
        except self._errors as e:
            return refused(request_id, junction_id, Reason.CONTROLLER_ERROR, str(e), degraded=True)
        return answer

    # --- what SUMO shows (operator screen, tests) --------------------------------------------------------

    def approach_states(self, junction_id: str) -> dict[str, str]:
        """Each approach's state as SUMO shows it now: green if any of its links has green."""
        j = self.junctions[junction_id]
        shown = self.sim.trafficlight.getRedYellowGreenState(junction_id)
        out: dict[str, str] = {a: "red" for a in j.plan.approaches}
        for a, s in zip(j.link_approach, shown, strict=True):
            if a is None:
                continue
            if s in "Gg":
                out[a] = "green"
            elif s in "yY" and out[a] != "green":
                out[a] = "yellow"
        return out

    def status(self, junction_id: str) -> SignalStatus | None:
        j = self.junctions.get(junction_id)
        if j is None:
            return None
        now = self.clock()
        j.controller.advance(now)
        base = j.controller.status(junction_id)
        return base.model_copy(update={
            "at": now,
            "approaches": [ApproachState(approach=a, state=s)
                           for a, s in sorted(self.approach_states(junction_id).items())]})


class _Follow(StepListener):  # type: ignore[misc]
    """A SUMO step listener: after every simulation step the gateway shows its junctions."""

    def __init__(self, gateway: SumoSignalGateway) -> None:
        self.gateway = gateway

    def step(self, t: float = 0) -> bool:
        if self.gateway.closed:
            return False  # dropped by SUMO's step manager
        self.gateway.follow()
        return True
