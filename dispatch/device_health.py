"""Device health: a home device silent past its heartbeat, or on low battery, becomes a
maintenance task for the programme (a visit), never an emergency; the task closes when the
device is heard again, its battery recovers, or a visit is reported.

The heartbeats themselves are telemetry, kept outside the log (coordination.device_watch);
only the tasks they cause are events."""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dispatch import events as ev
from dispatch.rejection import Rejected

if TYPE_CHECKING:
    from dispatch.state import DispatchState

REASONS = ("silent", "low_battery")


@dataclass
class MaintenanceTask:
    task_id: str
    device_id: str
    reason: str
    detail: str
    opened_at: datetime
    closed_at: datetime | None = None
    close_reason: str = ""
    closed_by: str | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class OpenMaintenanceTask:
    device_id: str
    reason: str  # silent, low_battery
    detail: str


@dataclass(frozen=True)
class CloseMaintenanceTask:
    device_id: str
    reason: str  # silent, low_battery: which kind of task the news closes
    why: str  # heard again, battery recovered, visited
    by: str


def open_task(state: "DispatchState", cmd: OpenMaintenanceTask, now: datetime) -> list[ev.Event]:
    """One open task per device and reason: a device silent for a week is one visit, not many."""
    if cmd.device_id not in state.homes.devices:
        raise Rejected(422, "device_id", f"device {cmd.device_id!r} is not in the register")
    if cmd.reason not in REASONS:
        raise Rejected(422, "reason", f"one of {', '.join(REASONS)}")
    if state.maintenance_open.get((cmd.device_id, cmd.reason)) is not None:
        return []
    return [
        ev.MaintenanceTaskOpened(
            at=now,
            task_id=f"M{len(state.maintenance) + 1:06d}",
            device_id=cmd.device_id,
            reason=cmd.reason,
            detail=cmd.detail,
        )
    ]


def close_task(state: "DispatchState", cmd: CloseMaintenanceTask, now: datetime) -> list[ev.Event]:
    task_id = state.maintenance_open.get((cmd.device_id, cmd.reason))
    if task_id is None:
        return []
    return [
        ev.MaintenanceTaskClosed(at=now, task_id=task_id, device_id=cmd.device_id, reason=cmd.why, by=cmd.by)
    ]


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    match e:
        case ev.MaintenanceTaskOpened():
            state.maintenance[e.task_id] = MaintenanceTask(
                task_id=e.task_id, device_id=e.device_id, reason=e.reason, detail=e.detail, opened_at=e.at
            )
            state.maintenance_open[(e.device_id, e.reason)] = e.task_id
        case ev.MaintenanceTaskClosed():
            task = state.maintenance[e.task_id]
            task.closed_at, task.close_reason, task.closed_by = e.at, e.reason, e.by
            state.maintenance_open.pop((task.device_id, task.reason), None)
