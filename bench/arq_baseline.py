"""The baseline for bench/outbox.py: raw arq jobs making the same Twilio call, with no database.

Run by `python -m arq bench.arq_baseline.WorkerSettings` with REDIS_URL and TWILIO_API_BASE_URL set.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import uvloop
from arq.connections import RedisSettings

from backend.core.settings import Settings
from backend.messaging.senders import Envelope
from backend.messaging.senders.twilio_sms import TwilioSender
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

DONE_KEY = "bench:baseline:done"

# The event loop `frontdesk worker` runs on, so the baseline differs from it only in the outbox.
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def startup(ctx: dict[str, Any]) -> None:
    settings = Settings(
        _env_file=None,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from_number=FROM_NUMBER,
        twilio_api_base_url=os.environ["TWILIO_API_BASE_URL"],
    )
    ctx["sender"] = TwilioSender(settings, "http://127.0.0.1/twilio/sms/status")


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["sender"].close()


async def send_sms(ctx: dict[str, Any], number: str, body: str, enqueued_at: float) -> None:
    await ctx["sender"].send(Envelope(number, "sms", number, None, body))
    await ctx["redis"].rpush(DONE_KEY, f"{enqueued_at} {time.time()}")


class WorkerSettings:
    functions = [send_sms]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(os.environ.get("REDIS_URL", "redis://localhost"))
    max_jobs = 20  # the dispatcher's send concurrency
    keep_result = 0
    poll_delay = 0.05
