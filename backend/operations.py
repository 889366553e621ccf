"""The endpoints an operator's tools call: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import metrics, migrations
from backend.core.db import Database
from backend.core.settings import Settings
from backend.events import circuits as webhook_circuits
from backend.messaging import outbox_health

router = APIRouter(tags=["operations"])
HEAD = migrations.head_revision()


@router.get("/health")
async def health() -> JSONResponse:
    """Liveness: the process answers. (Whether it can work is `/ready`.)"""
    return JSONResponse({"status": "ok"})


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Readiness for a load balancer: PostgreSQL and Redis reachable, the schema at this code's head."""
    db: Database = request.app.state.db
    checks = {"database": "ok", "redis": "ok", "migrations": "ok"}
    try:
        async with db.engine.connect() as connection:
            revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        if revision != HEAD:
            checks["migrations"] = f"at {revision}, code expects {HEAD}"
    except Exception:  # readiness reports, it does not raise
        checks["database"] = checks["migrations"] = "unavailable"
    redis = request.app.state.redis
    if redis is None:
        checks["redis"] = "not configured"
    else:
        try:
            await redis.ping()
        except Exception:
            checks["redis"] = "unavailable"
    ok = (
        checks["database"] == "ok"
        and checks["migrations"] == "ok"
        and checks["redis"] in ("ok", "not configured")
    )
    return JSONResponse({"status": "ready" if ok else "not ready", **checks}, status_code=200 if ok else 503)


@dataclass(frozen=True)
class _OutboxState:
    depth: dict[str, tuple[int, float]]
    circuits: dict[str, bool]
    waiting: dict[uuid.UUID, tuple[int, float]]
    workers: tuple[int, float | None]
    paused_webhook_endpoints: int


@router.get("/metrics", include_in_schema=False)
async def prometheus(request: Request) -> Response:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    now = datetime.now(UTC)
    # A worker beats every sweep; three sweeps without one and it counts as gone.
    alive_within = timedelta(seconds=3 * settings.worker_sweep_seconds)

    async def read(session: AsyncSession) -> _OutboxState:
        return _OutboxState(
            await outbox_health.depth(session, now),
            await outbox_health.open_circuits(session, now),
            await outbox_health.waiting(session, now),
            await outbox_health.workers(session, now, alive_within),
            await webhook_circuits.paused_endpoints(session),
        )

    try:
        state = await db.transaction(read)
    except Exception:  # the counters are still worth serving when the database is away
        state = None
    if state is not None:
        for status, (count, age) in state.depth.items():
            metrics.OUTBOX_DEPTH.labels(status).set(count)
            metrics.OUTBOX_OLDEST.labels(status).set(age)
        for provider, is_open in state.circuits.items():
            metrics.CIRCUIT_OPEN.labels(provider).set(1 if is_open else 0)
        waiting = state.waiting.values()
        metrics.OUTBOX_DUE.set(sum(count for count, _ in waiting))
        metrics.OUTBOX_DUE_OLDEST.set(max((oldest for _, oldest in waiting), default=0.0))
        alive, last_beat = state.workers
        metrics.WORKERS_ALIVE.set(alive)
        metrics.WORKER_LAST_BEAT.set(float("inf") if last_beat is None else last_beat)
        metrics.WEBHOOK_ENDPOINTS_PAUSED.set(state.paused_webhook_endpoints)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
