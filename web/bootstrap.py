"""Building the live server's collaborators, once, in order, each handed what it needs.

`Backend.start` builds everything the endpoints use from the settings, a Redis URL and the road
network, starts the background loops, and `stop` ends them; the app keeps one Backend. Nothing
is patched onto an object after it is made."""

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from coordination.coordinator import Coordinator
from coordination.device_watch import DeviceIntake, DeviceTelemetry, DeviceWatch
from coordination.lead_watch import lead_watch
from coordination.posts import PostPlanner
from coordination.road_router import RoadRouter
from coordination.signal_priority import SignalPriority, signal_places
from coordination.whereabouts import FleetWhereabouts
from coordination.whistle_clock import alarm_step_clock, escalation_clock
from dispatch.alarm_rules import AlarmRules
from dispatch.background import end_all, within
from dispatch.clock import Clock
from dispatch.decide import RegisterUnit, Rules
from dispatch.event_log import LogRewound
from dispatch.fleet import Fleet
from dispatch.merging import MergeRules
from dispatch.plans import ResponsePlans
from dispatch.rejection import Rejected
from dispatch.roster import RosterRules
from dispatch.service import DispatchService
from dispatch.telemetry import Position, PositionStore
from greenwave.http_gateway import HttpSignalGateway
from routing.network import RoadNetwork
from web.api_keys import KeyRing
from web.audit import AuditLog
from web.feeds import FeedIndex
from web.lease import Lease, this_node
from web.live import LiveHub
from web.presence import Presence
from web.rate_limits import RateLimits
from web.redis_client import connect, log_store
from web.settings import Settings
from web.webhook_targets import TargetRules
from web.webhooks import WebhookDeliveries

if TYPE_CHECKING:
    from web.mqtt_intake import MqttIntake

log = logging.getLogger(__name__)


def rules_from(settings: Settings, plans: ResponsePlans) -> Rules:
    return Rules(plans=plans, merge=MergeRules(settings.merge_radius_m, settings.merge_window_min,
                                                    person_radius_m=settings.merge_person_radius_m,
                                                    person_window_min=settings.merge_person_window_min),
                 roster=RosterRules.load(settings.roster_file), ack_deadline_s=settings.ack_deadline_s,
                 alarms=AlarmRules.load(settings.alarm_rules_file, frozenset(plans.kinds)))


def _stop_this_process(rewind: LogRewound) -> None:
    """A fold ahead of the log cannot be mended in place (every projection read the lost events):
    end the server as a SIGTERM would, so whoever runs it (`cluster up`, systemd) starts it again
    from the log, while the load balancer sends its screens and calls to another node."""
    log.critical("stopping: %s", rewind)
    os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class Backend:
    settings: Settings
    plans: ResponsePlans
    redis: aioredis.Redis
    service: DispatchService
    coordinator: Coordinator
    positions: PositionStore
    fleet: Fleet
    network: RoadNetwork
    keys: KeyRing
    rate_limits: RateLimits
    audit: AuditLog
    feed: FeedIndex
    webhooks: WebhookDeliveries
    hub: LiveHub
    devices: DeviceIntake
    posts: PostPlanner
    mqtt: "MqttIntake | None" = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    roads_json: bytes | None = None  # the map's road layer, drawn once when first asked

    @classmethod
    async def start(cls, settings: Settings, network: RoadNetwork, clock: Clock, redis_url: str) -> "Backend":
        plans = ResponsePlans.load(settings.plans_file)
        fleet = Fleet.load(settings.fleet_file)
        client = connect(redis_url)
        ns = settings.namespace
        service = DispatchService(log_store(client, redis_url, ns), rules_from(settings, plans), clock)
        service.on_rewind = _stop_this_process
        audit = AuditLog(client, ns, clock)
        feed = FeedIndex(plans)
        service.subscribe(feed.on_event)  # before start: the replay of the log builds the feed
        router = await asyncio.to_thread(RoadRouter, network, settings.snap_max_m,
                                         settings.emergency_bus_lanes)
        await asyncio.to_thread(network.contains, 0.0, 0.0)  # builds the served area now, not on a call
        positions = PositionStore(client, ns)
        if settings.signal_controller_url:
            priority = SignalPriority(service, HttpSignalGateway(settings.signal_controller_url),
                                      signal_places(network), settings.corridor_settings())
        else:
            priority = SignalPriority.simulated(service, network, settings.corridor_settings())
        whereabouts = FleetWhereabouts(positions, fleet, service)
        coordinator = Coordinator.assemble(service, router, whereabouts, fleet, priority,
                                           stale_after_s=settings.stale_after_s)
        await service.start()
        hub = LiveHub(service, plans)
        hub.fix_listeners.append(priority.on_fix)
        keys = KeyRing(client, settings.keys_namespace or ns)
        webhooks = WebhookDeliveries(client, ns, feed, audit, settings.webhook_backoff_s,
                                     settings.webhook_timeout_s, TargetRules(settings.webhook_allow))
        devices = DeviceIntake(service, DeviceTelemetry(client, ns), service.rules.alarms)
        backend = cls(settings, plans, client, service, coordinator, positions, fleet, network, keys,
                      RateLimits(client, ns, settings.rate_limit), audit, feed, webhooks, hub, devices,
                      PostPlanner(service, router, fleet, settings.post_rules()))
        await backend.register_fleet()
        await backend.import_register()
        # The road network is millions of long-lived objects; left to the cyclic collector they
        # cost half-second pauses under load. Freeze what start-up built out of its sight.
        gc.collect()
        gc.freeze()
        # Every node fans positions out to its own screens; the rest happens once, on the node
        # that holds its lease (web/lease.py), and moves to another node when that one dies.
        node = settings.node_id or this_node()
        presence = Presence(client, ns, node, clock)
        once: dict[str, Callable[[], Awaitable[None]]] = {
            "escalation-clock": lambda: escalation_clock(service),
            "webhooks": lambda: backend.webhooks.run(lambda: service.state.version),
            "alarm-step-clock": lambda: alarm_step_clock(service),
            "device-watch": lambda: DeviceWatch(devices, settings.device_watch_s).run(),
            "lead-watch": lambda: lead_watch(service, presence.seen, settings.lead_dark_after_s),
        }
        if settings.drives_demo_fleet:
            from web.demo_drive import DemoDrive

            drive = DemoDrive.on(backend, network, settings.demo_pace)
            once["demo-drive"] = drive.run
        backend.tasks = [asyncio.create_task(hub.follow_positions(client, positions.channel)),
                         asyncio.create_task(presence.run(hub.consoles))]
        backend.tasks += [asyncio.create_task(Lease(client, f"{ns}:lease:{name}", node,
                                                    settings.lease_ttl_s).hold(work))
                          for name, work in once.items()]
        if settings.mqtt_url:  # a shared subscription: the broker gives each message to one node
            from web.mqtt_intake import MqttIntake

            backend.mqtt = MqttIntake(settings.mqtt_url, devices)
            backend.tasks.append(asyncio.create_task(backend.mqtt.run()))
        return backend

    async def register_fleet(self) -> None:
        """Put the fleet file's units in the log once; the log then owns them."""
        for spec in self.fleet.units:
            if spec.unit_id not in self.service.state.units:
                # Another process starting on the same Redis may register it first: that is fine.
                with contextlib.suppress(Rejected):
                    await self.service.execute(RegisterUnit(
                        spec.unit_id, spec.agency, spec.kind, spec.call_sign, spec.station_id,
                        spec.crew, spec.capabilities))

    async def import_register(self) -> None:
        """The register file named in the settings (the demo's on the demo city), once more at each
        start: only what changed becomes events."""
        path = self.settings.register_file
        if path is None and self.settings.osm_cache is None:
            from coordination.register_file import DEMO_REGISTER_FILE

            path = DEMO_REGISTER_FILE
        if path is None:
            return
        from coordination.register_file import load_register

        with contextlib.suppress(Rejected):  # another process importing the same file at once
            await self.service.execute(load_register(path).command(str(path)))

    async def ingest(self, fixes: list[Position]) -> None:
        """Every fix, from a vehicle or the demo drive, goes this one way: stored, fanned out to
        the screens (and every process's corridor following), and checked against its route."""
        await self.positions.record(fixes)
        await self.coordinator.took_fixes(fixes)

    async def stop(self) -> None:
        self.webhooks.closing()
        await end_all(self.tasks)
        await within(self.webhooks.stop(), "stopping webhook deliveries")
        await within(self.service.stop(), "stopping the log follower")
        await within(self.redis.aclose(), "closing the Redis client")
