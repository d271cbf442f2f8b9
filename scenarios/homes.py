"""The homes a replay plays: the scenario's register put in the replay's log, its devices raising
alarms when the timeline says, the residents and their contacts answering the call-backs (or not),
the community responder accepting, arriving and reporting; and the alarm clock that moves a step
on when its deadline passes, as the live server's does.

Everything goes through the commands the live edges use (RaiseDeviceAlarm, AnswerAlarmStep,
ReportResponderTask, CheckAlarmDeadlines); an alarm's call then reaches the dispatcher the replay
plays, as a caller's does."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from dispatch import events as ev
from dispatch.home_alarms import (
    AnswerAlarmStep,
    CheckAlarmDeadlines,
    RaiseDeviceAlarm,
    ReportResponderTask,
    next_deadline,
)
from dispatch.rejection import Rejected
from scenarios.model import AlarmSpec, TimelineEntry

if TYPE_CHECKING:
    from scenarios.world import World

CALL_BACKS = ("call_resident", "call_contact")


class Homes:
    def __init__(self, world: World) -> None:
        self.world = world
        self.service = world.service
        self.spec_of: dict[str, tuple[AlarmSpec, str]] = {}  # alarm id -> what the file says, event
        self.deadline_checks: set[datetime] = set()

    async def import_register(self) -> None:
        command = self.world.scenario.register_command()
        if command is not None:
            await self.service.execute(command)

    async def alarm(self, n: int, entry: TimelineEntry) -> None:
        spec = entry.alarm
        assert spec is not None
        event = spec.event or f"T{n:05d}"
        try:
            events = await self.service.execute(RaiseDeviceAlarm(
                spec.device, None, spec.kind, self.service.clock.now(), value=spec.value, via="scenario",
                message_id=f"{self.world.scenario.name}-{n}", details={"event": event}))
        except Rejected:
            return  # the file is checked against its register, so only a rule's own refusal is left
        raised = next((e for e in events if isinstance(e, ev.DeviceAlarmRaised)), None)
        if raised is None:
            return  # a repeat: counted on the alarm already raised
        self.spec_of[raised.alarm_id] = (spec, event)
        for answer in spec.answers:
            self.world.engine.after(answer.after_s, self._answer(raised.alarm_id, answer.outcome, answer.by))
        await self._after(events, event)

    def _answer(self, alarm_id: str, outcome: str, by: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            step = self.service.state.alarms[alarm_id].current_step
            if step is None or step.action not in CALL_BACKS:
                return  # over already, or waiting on the responder rather than a phone
            with contextlib.suppress(Rejected):
                events = await self.service.execute(AnswerAlarmStep(alarm_id, outcome, by))
                await self._after(events, self._event_of(alarm_id))
        return run

    async def _after(self, events: list[ev.Event], event: str) -> None:
        """What an alarm command set going: its call to the dispatcher, the responders it sent,
        the next deadline to watch."""
        if any(isinstance(e, ev.CallReceived) for e in events):
            self.world.dispatcher.took(events, event)
        else:  # a responder's "needs 120" on an incident already open: the desk sends for it
            for incident_id in {e.incident_id for e in events if isinstance(e, ev.TaskCreated)}:
                self.world.dispatcher.follow_up(incident_id)
        for e in events:
            if isinstance(e, ev.ResponderTasked) and e.alarm_id in self.spec_of:
                self._play_responder(e)
        self._watch_deadlines()

    def _event_of(self, alarm_id: str) -> str:
        known = self.spec_of.get(alarm_id)
        return known[1] if known is not None else alarm_id

    def _play_responder(self, tasked: ev.ResponderTasked) -> None:
        spec, event = self.spec_of[tasked.alarm_id]
        play = spec.responder
        if play is None:
            return  # nobody reports: the check's deadline decides

        def report(kind: str, outcome: str = "", note: str = "") -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                with contextlib.suppress(Rejected):
                    events = await self.service.execute(
                        ReportResponderTask(tasked.task_id, tasked.responder_id, kind, outcome, note))
                    await self._after(events, event)
            return run

        engine = self.world.engine
        engine.after(play.accept_s, report("accepted"))
        engine.after(play.arrive_s, report("arrived"))
        if play.outcome is not None:
            engine.after(play.arrive_s + play.outcome_after_s, report("outcome", play.outcome, play.note))

    def _watch_deadlines(self) -> None:
        due = next_deadline(self.service.state)
        if due is None or due in self.deadline_checks:
            return
        self.deadline_checks.add(due)

        async def check() -> None:
            # one alarm per decision (see check_deadlines): ask until nothing is due
            while events := await self.service.execute(CheckAlarmDeadlines()):
                alarm_id = next(e.alarm_id for e in events if isinstance(e, ev.AlarmStepTimedOut))
                await self._after(events, self._event_of(alarm_id))
            self._watch_deadlines()
        self.world.engine.at((due - self.world.scenario.spec.start).total_seconds(), check)
