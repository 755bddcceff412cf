"""The Redis cache, made safe to lose: while Redis is unreachable the process uses its own memory.

Everything the cache holds can be rebuilt (page fragments keyed on versions, API rate-limit
counters, the worker heartbeat /health/ reads), so losing Redis must never fail a request. On a
connection error or timeout the call is answered from a per-process LocMemCache and Redis is left
alone for GMHSC_CACHE_RETRY_SECONDS (so a request does not wait for a dead server on every call);
then it is tried again. During an outage rate limits are therefore counted per process (looser,
never absent) and fragments are rendered a little more often. Sessions do not live here: they
are in the database (settings.SESSION_ENGINE).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


class ResilientRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._fallback = LocMemCache(f"gmhsc-fallback-{id(self)}", {"OPTIONS": {}})
        self._down_until = 0.0

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= self._down_until:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except UNREACHABLE as exc:
                retry = float(settings.GMHSC_CACHE_RETRY_SECONDS)
                self._down_until = time.monotonic() + retry
                logger.warning(
                    "Redis cache unreachable (%s); using this process's memory for %.0f s",
                    exc.__class__.__name__,
                    retry,
                )
        return getattr(self._fallback, name)(*args, **kwargs)

    @property
    def is_down(self) -> bool:
        return time.monotonic() < self._down_until


def _delegate(name: str) -> Callable[..., Any]:
    def method(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    return method


for _name in (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
):
    setattr(ResilientRedisCache, _name, _delegate(_name))
