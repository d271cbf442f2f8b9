"""API keys: who a client is (client id, agency, roles, for a vehicle device its unit), kept in
Redis by the SHA-256 of the key so a copy of the database gives no usable key.

A key is 256 random bits, so a fast hash is enough: there is nothing to guess, and a slow
password hash (argon2) would only add its cost to every request. The key id in the key's prefix
lets an operator list and revoke keys without ever seeing the secret part again."""

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

if TYPE_CHECKING:
    from web.settings import Settings

AGENCIES = ("110", "119", "120", "122")


class Role(StrEnum):
    CALL_TAKER = "call_taker"
    DISPATCHER = "dispatcher"
    CONVENER = "convener"
    SUPERVISOR = "supervisor"
    FEED_READER = "feed_reader"
    VEHICLE_DEVICE = "vehicle_device"
    DEVICE_PLATFORM = "device_platform"  # an IoT platform pushing home devices' messages
    COMMUNITY_RESPONDER = "community_responder"  # a grid worker, property security, village team
    TRAINER = "trainer"
    ADMIN = "admin"


@dataclass(frozen=True)
class ApiKey:
    """One client's credential as stored: never the key itself, only what it stands for."""

    key_id: str
    client_id: str
    agency: str
    roles: tuple[Role, ...]
    created_at: str
    unit_id: str | None = None  # a vehicle device acts for this one unit only
    rate: str | None = None  # its own rate limit ("100/second"); else the server's default
    revoked_at: str | None = None
    digest: str = field(default="", repr=False)
    responder_id: str | None = None  # a community responder acts for this responder of the register

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def public(self) -> dict[str, object]:
        out = asdict(self)
        out.pop("digest")
        out["roles"] = [str(r) for r in self.roles]
        return out


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _decode(raw: bytes | str) -> ApiKey:
    data = json.loads(raw)
    data["roles"] = tuple(Role(r) for r in data["roles"])
    return ApiKey(**data)


class KeyRing:
    """The keys of one namespace: a Redis hash from digest to record."""

    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.key = f"{namespace}:apikeys"

    async def create(self, client_id: str, agency: str, roles: list[Role], now: datetime,
                     unit_id: str | None = None, rate: str | None = None,
                     plain: str | None = None, responder_id: str | None = None) -> tuple[str, ApiKey]:
        """A new key; the plain key is returned this once and never stored. `plain` adopts a key
        made elsewhere (a deployment's secret store), which must be as long as ours."""
        if plain is not None and len(plain) < 32:
            raise ValueError("a key must be at least 32 characters")
        if agency not in AGENCIES:
            raise ValueError(f"agency must be one of {', '.join(AGENCIES)}")
        if not roles:
            raise ValueError("a key needs at least one role")
        if Role.VEHICLE_DEVICE in roles and not unit_id:
            raise ValueError("a vehicle_device key needs the unit it belongs to (--unit)")
        key_id = secrets.token_hex(4)
        plain = plain or f"jd_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(key_id, client_id, agency, tuple(dict.fromkeys(roles)),
                        now.isoformat(timespec="seconds"), unit_id, rate, digest=digest(plain),
                        responder_id=responder_id)
        await self.redis.hset(self.key, record.digest, json.dumps(asdict(record)))
        return plain, record

    async def lookup(self, plain: str) -> ApiKey | None:
        raw = await self.redis.hget(self.key, digest(plain))
        return _decode(raw) if raw is not None else None

    async def all(self) -> list[ApiKey]:
        rows = await self.redis.hgetall(self.key)
        return sorted((_decode(v) for v in rows.values()), key=lambda k: k.created_at)

    async def revoke(self, key_id: str, now: datetime) -> ApiKey:
        for k in await self.all():
            if k.key_id == key_id:
                if k.revoked:
                    return k
                done = ApiKey(**{**asdict(k), "revoked_at": now.isoformat(timespec="seconds")})
                await self.redis.hset(self.key, k.digest, json.dumps(asdict(done)))
                return done
        raise KeyError(key_id)


async def demo_key(url: str, settings: "Settings") -> str:
    """The demo map's supervisor key (the live map's and a training map's): JD_DEMO_KEY, or the
    one kept from the last start under the data folder, or a new one kept there."""
    from web.redis_client import connect

    client = connect(url)
    keys = KeyRing(client, settings.keys_namespace or settings.namespace)  # where the app looks
    kept = settings.data_dir / "demo-key"
    try:
        wanted = settings.demo_key or (kept.read_text().strip() if kept.exists() else None)
        if wanted:
            found = await keys.lookup(wanted)
            if found is not None and not found.revoked:
                return wanted
        plain, _ = await keys.create("demo-map", "120", [Role.SUPERVISOR], datetime.now(UTC),
                                     plain=settings.demo_key)
        if not settings.demo_key:
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.touch(mode=0o600)
            kept.write_text(plain + "\n")
        return plain
    finally:
        await client.aclose()
