"""Who of a clinic's staff is online, as any process reads it from Redis (real Redis)."""

from __future__ import annotations

import time
import uuid

import redis.asyncio as aioredis

from backend.webchat.presence import StaffPresence


async def test_a_connection_counts_while_it_lasts_and_only_for_its_clinic(settings):
    presence, reader = StaffPresence(settings.redis_url), StaffPresence(settings.redis_url)
    clinic, other = uuid.uuid4(), uuid.uuid4()
    try:
        assert await reader.online(clinic) is False
        await presence.arrived("sid-1", clinic)
        assert await reader.online(clinic) is True  # another process sees it
        assert await reader.online(other) is False
        await presence.left("sid-1")
        assert await reader.online(clinic) is False
    finally:
        await presence.close()
        await reader.close()


async def test_the_connections_of_a_process_that_died_do_not_count(settings):
    clinic = uuid.uuid4()
    redis = aioredis.from_url(settings.redis_url)
    # What a dead process leaves behind: its last renewal, now expired.
    await redis.zadd(f"frontdesk:staff-online:{clinic}", {"sid-of-a-dead-process": time.time() - 1})
    await redis.aclose()
    presence = StaffPresence(settings.redis_url)
    assert await presence.online(clinic) is False
    await presence.close()


async def test_without_redis_nobody_is_claimed_to_be_online_or_away(settings):
    presence = StaffPresence("redis://127.0.0.1:1/0")  # nothing listens there
    assert await presence.online(uuid.uuid4()) is None
    await presence.arrived("sid-1", uuid.uuid4())  # does not raise: presence is a courtesy
    await presence.close()
