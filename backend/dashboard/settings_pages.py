"""Settings: the clinic, providers with their hours and breaks, services, closures, booking rules,
reminders and quiet hours, message templates with a live preview, the FAQ the receptionist answers
from, phone numbers, keys, team and webhooks with their delivery log. Owners only; read through the
API's own handlers."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Annotated, get_args

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from backend.core.deps import Db
from backend.core.errors import Forbidden, NotFound
from backend.core.event_catalogue import CATALOGUE
from backend.core.schemas import WEEKDAYS
from backend.dashboard.render import PREFIX, StaffPage
from backend.events import webhook_endpoints as webhooks
from backend.faq import endpoints as faq_api
from backend.faq.schemas import MAX_ANSWER_CHARS, MAX_ENTRIES, Topic
from backend.messaging import endpoints as templates_api
from backend.retention import endpoints as retention
from backend.scheduling import catalog_endpoints as catalogue
from backend.scheduling.catalog_endpoints import ClosureOut
from backend.scheduling.schemas import ProviderOut
from backend.telephony import phone_number_endpoints as numbers
from backend.telephony import twilio_account_endpoints as twilio_account
from backend.telephony.schemas import TwilioAccountOut
from backend.tenants import endpoints as tenant_api
from backend.tenants import team_endpoints as team

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# The clinic's switches (policy/switches.py), as the receptionist page lists them.
SWITCHES = (
    (
        "web_chat_enabled",
        "Web chat",
        "Off: the chat widget says chat is unavailable and gives your phone number.",
    ),
    (
        "sms_enabled",
        "Texts",
        "Off: texts reach your inbox with no automated answer, and no automated texts go out.",
    ),
    (
        "voice_enabled",
        "Phone calls",
        "Off: callers hear a short message and are put through to your staff number.",
    ),
    ("language_model_enabled", "Language model", "Off: the built-in rules read every message."),
    ("waitlist_enabled", "Waiting list", "Off: patients are not offered the waiting list."),
    ("patients_may_cancel", "Patients may cancel", "Off: no Cancel button; patients are asked to call you."),
    (
        "patients_may_reschedule",
        "Patients may reschedule",
        "Off: no Reschedule button; patients are asked to call you.",
    ),
    (
        "automated_messages_paused",
        "Pause automated messages",
        "On: no reminders, follow-ups or review requests. Staff replies and booking confirmations still go.",
    ),
)
FAQ_TOPICS = {topic: topic.replace("_", " ").capitalize() for topic in get_args(Topic)}


def _owner(page: StaffPage) -> None:
    if not page.caller.is_owner:
        raise Forbidden("only an owner of the clinic can change its settings")


def hours_text(provider: ProviderOut) -> str:
    """The week as the hours box shows it: one line per day, breaks as the gaps."""
    lines = []
    for day in WEEKDAYS:
        spans = [f"{h.opens_at:%H:%M}-{h.closes_at:%H:%M}" for h in provider.hours if h.weekday == day]
        lines.append(f"{day} {', '.join(spans)}".rstrip())
    return "\n".join(lines)


def closed_days(closure: ClosureOut) -> str:
    """Whole days as people say them, last day included ("Thu 24 Dec 2026 to Sat 26 Dec 2026"); a closure
    that starts or ends within a day shows its times."""
    starts, ends = datetime.fromisoformat(closure.starts_at), datetime.fromisoformat(closure.ends_at)
    if starts.time() == time(0) and ends.time() == time(0):
        last = ends - timedelta(days=1)
        first = f"{starts:%a} {starts.day} {starts:%b %Y}"
        return first if last.date() == starts.date() else f"{first} to {last:%a} {last.day} {last:%b %Y}"
    return f"{starts:%Y-%m-%d %H:%M} to {ends:%Y-%m-%d %H:%M}"


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(page: StaffPage, db: Db, processes: templates_api.Templates) -> HTMLResponse:
    _owner(page)
    caller = page.caller
    providers = await catalogue.list_providers(caller, db)
    return page.render(
        "settings.html",
        "settings",
        tenant=await tenant_api.get_tenant(caller),
        providers=providers,
        provider_names={p.id: p.name for p in providers},
        hours_text=hours_text,
        closed_days=closed_days,
        services=await catalogue.list_services(caller, db, include_inactive=True),
        closures=await catalogue.list_closures(caller, db),
        message_templates=await templates_api.list_templates(caller, db, processes),
    )


@router.get("/settings/faq", response_class=HTMLResponse)
async def faq_page(page: StaffPage, db: Db) -> HTMLResponse:
    _owner(page)
    entries = await faq_api.list_faq(page.caller, db)
    return page.render(
        "faq.html",
        "settings",
        entries=entries,
        topics=list(FAQ_TOPICS.items()),
        topic_labels=FAQ_TOPICS,
        next_position=min(max((e.position for e in entries), default=0) + 10, 10_000),
        max_entries=MAX_ENTRIES,
        max_answer=MAX_ANSWER_CHARS,
    )


@router.get("/settings/connections", response_class=HTMLResponse)
async def connections_page(page: StaffPage, db: Db) -> HTMLResponse:
    _owner(page)
    caller = page.caller
    return page.render(
        "connections.html",
        "settings",
        numbers=await numbers.list_numbers(caller, db),
        keys=await tenant_api.list_keys(caller, db),
        team=await team.list_team(caller, db),
        endpoints=await webhooks.list_endpoints(caller, db),
        event_types=sorted(CATALOGUE),
        twilio_account=await _own_twilio_account(page, db),
    )


async def _own_twilio_account(page: StaffPage, db: Db) -> TwilioAccountOut | None:
    try:
        return await twilio_account.get_account(page.caller, db)
    except NotFound:
        return None  # the platform's account


@router.get("/settings/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def webhook_page(
    endpoint_id: uuid.UUID,
    page: StaffPage,
    db: Db,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    _owner(page)
    endpoint = await webhooks.get_endpoint(endpoint_id, page.caller, db)
    log = await webhooks.list_deliveries(
        endpoint_id, page.caller, db, status=[], event_type=None, limit=50, cursor=cursor
    )
    return page.render("webhook.html", "settings", endpoint=endpoint, log=log)


@router.get("/settings/privacy", response_class=HTMLResponse)
async def privacy_page(page: StaffPage, db: Db) -> HTMLResponse:
    """How long patient data is kept, the last nightly purge, and who must use two-factor sign-in."""
    _owner(page)
    caller = page.caller
    return page.render(
        "privacy.html",
        "settings",
        tenant=await tenant_api.get_tenant(caller),
        last_run=await retention.last_run(caller, db),
        settings_tab="privacy",
    )


@router.get("/settings/receptionist", response_class=HTMLResponse)
async def receptionist_page(page: StaffPage) -> HTMLResponse:
    """The clinic's switches: channels, the language model, the waiting list, self-service, the pause."""
    _owner(page)
    return page.render(
        "receptionist.html",
        "settings",
        tenant=await tenant_api.get_tenant(page.caller),
        switches=SWITCHES,
        settings_tab="receptionist",
    )
