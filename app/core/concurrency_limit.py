"""At most N holders of a slot per key, counted in Redis so every process shares the count (DEP-11).

Each holder takes a lease: a member of a sorted set scored by when it expires. A holder
renews its lease while it works and gives it back when done; a process that dies without
giving it back frees the slot when the lease runs out, so a crash never locks a user out
for good. Taking a slot is one Lua script (drop expired leases, count, add), so two
processes cannot both take the last one. Times come from Redis's clock, not the hosts'.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import cast

from redis.asyncio import Redis

_KEY_PREFIX = "slots"

# KEYS[1] the set; ARGV: limit, lease seconds, holder token. Returns 1 when the slot was taken.
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]) * 1000, ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 1000)
return 1
"""

# KEYS[1] the set; ARGV: lease seconds, holder token. Extends a lease that still exists.
_RENEW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now_ms + tonumber(ARGV[1]) * 1000, ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 1000)
end
return 1
"""


def _key(prefix: str, scope: str, key: str) -> str:
    # `prefix` is the service's own Redis key prefix (`Settings.redis_key_prefix`).
    return f"{prefix}{_KEY_PREFIX}:{scope}:{key}"


async def _run(redis: Redis, script: str, key: str, *args: str | int) -> int:
    # redis-py types `eval` for both of its clients at once; the asyncio client's call is awaitable.
    result = await cast("Awaitable[int]", redis.eval(script, 1, key, *(str(arg) for arg in args)))
    return int(result)


async def take(redis: Redis, *, prefix: str, scope: str, key: str, limit: int, lease_seconds: int) -> str | None:
    """Take one of `limit` slots for `key`; the holder's token, or None when all are taken."""
    token = uuid.uuid4().hex
    taken = await _run(redis, _TAKE, _key(prefix, scope, key), limit, lease_seconds, token)
    return token if taken == 1 else None


async def renew(redis: Redis, *, prefix: str, scope: str, key: str, token: str, lease_seconds: int) -> None:
    await _run(redis, _RENEW, _key(prefix, scope, key), lease_seconds, token)


async def give_back(redis: Redis, *, prefix: str, scope: str, key: str, token: str) -> None:
    await redis.zrem(_key(prefix, scope, key), token)
