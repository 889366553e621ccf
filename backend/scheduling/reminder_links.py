"""Links in e-mail reminders: confirm or cancel the appointment reminded of in one click, or move it
in the chat (the reschedule link opens the clinic's chat widget on that booking).

A link is sealed with the deployment's key ring (AES-256-GCM, `backend.core.crypto`): authenticated,
so it cannot be forged or altered, and encrypted, so it shows nothing, not even which appointment,
to whoever sees the URL. It is bound to the appointment and to the time it was for: a moved
appointment's old links no longer work, and none works once the visit has started. A confirm or a
cancel link does its work once (`reminder_link_uses`): a second click shows what the first did. A
reschedule link is the widget's credential (`WIDGET_PREFIX`) for a conversation about that booking,
whose patient it proves (the e-mail went to them); once the booking has moved, it is spent.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import Caller, TenantContext
from backend.core.crypto import KeyRing, KeyRingError
from backend.core.errors import Conflict, NotFound
from backend.core.settings import Settings
from backend.scheduling import attendance, booking
from backend.scheduling.models import Appointment, ReminderLinkUse
from backend.scheduling.schemas import CancelIn

Action = Literal["confirm", "cancel", "reschedule"]
ACTIONS: tuple[Action, ...] = ("confirm", "cancel", "reschedule")
PATH = "/r/"
CONTEXT = "reminder_link"
# The reschedule link's token as the chat widget's key, told apart from widget keys and handoff links.
WIDGET_PREFIX = "rl_"


class LinkInvalid(Exception):
    pass


@dataclass(frozen=True)
class Grant:
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    action: Action
    starts_at: datetime
    nonce: str


class ReminderLinks:
    def __init__(self, key_ring: KeyRing, public_base_url: str) -> None:
        self.key_ring = key_ring
        self.base = public_base_url.rstrip("/") + PATH

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderLinks | None:
        """None without a key ring (an embedded app that never set one): reminders go without links."""
        if settings.secrets_keys is None:
            return None
        return cls(settings.key_ring, settings.public_base_url)

    def for_reminder(self, tenant_id: uuid.UUID, appointment: Appointment) -> dict[str, str]:
        """The links a reminder's e-mail offers, as template variables."""
        return {f"{action}_link": self.issue(tenant_id, appointment, action) for action in ACTIONS}

    def issue(self, tenant_id: uuid.UUID, appointment: Appointment, action: Action) -> str:
        claims = {
            "t": str(tenant_id),
            "a": str(appointment.id),
            "x": action,
            "s": int(appointment.starts_at.timestamp()),
            "n": secrets.token_hex(12),
        }
        sealed = self.key_ring.seal(json.dumps(claims, separators=(",", ":")), CONTEXT)
        version, _, body = sealed.partition(":")
        url_safe = base64.urlsafe_b64encode(base64.b64decode(body)).rstrip(b"=").decode()
        return f"{self.base}{version}.{url_safe}"

    def read_widget_key(self, key: str) -> Grant:
        """The grant of a reschedule link presented as the chat widget's key."""
        grant = self.read(key.removeprefix(WIDGET_PREFIX))
        if grant.action != "reschedule":
            raise LinkInvalid("this link is not valid")
        return grant

    def read(self, token: str) -> Grant:
        version, _, body = token.partition(".")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            claims = json.loads(self.key_ring.open(f"{version}:{base64.b64encode(raw).decode()}", CONTEXT))
            action = claims["x"]
            if action not in ACTIONS:
                raise LinkInvalid("this link is not valid")
            return Grant(
                uuid.UUID(claims["t"]),
                uuid.UUID(claims["a"]),
                action,
                datetime.fromtimestamp(int(claims["s"]), UTC),
                str(claims["n"]),
            )
        except (KeyRingError, binascii.Error, ValueError, KeyError, TypeError) as error:
            raise LinkInvalid("this link is not valid") from error


@dataclass(frozen=True)
class Outcome:
    appointment: Appointment
    done: bool  # this click did it (False: a click before had, or it is waiting for the cancel's yes)


async def appointment_for(
    session: AsyncSession, tenant: TenantContext, grant: Grant, now: datetime
) -> Appointment:
    """The appointment a link is for, while the link still is: not moved, not started."""
    try:
        appointment = await booking.get_appointment(session, tenant, str(grant.appointment_id))
    except NotFound as error:
        raise LinkInvalid("this appointment no longer exists") from error
    if appointment.starts_at != grant.starts_at:
        raise LinkInvalid("this appointment has moved since the reminder; use the latest reminder's links")
    if appointment.starts_at <= now:
        raise LinkInvalid("this appointment has already started, so the link no longer works")
    return appointment


def is_widget_key(key: str) -> bool:
    return key.startswith(WIDGET_PREFIX)


async def use(session: AsyncSession, tenant: TenantContext, grant: Grant, now: datetime) -> Outcome:
    """Do what a confirm or cancel link says, once; a link used before shows the appointment as it is."""
    if grant.action == "reschedule":
        raise LinkInvalid("a reschedule link opens the chat; it changes nothing by itself")
    appointment = await appointment_for(session, tenant, grant, now)
    first = await session.scalar(
        insert(ReminderLinkUse)
        .values(
            nonce=grant.nonce,
            tenant_id=tenant.id,
            appointment_id=appointment.id,
            action=grant.action,
            used_at=now,
        )
        .on_conflict_do_nothing(index_elements=[ReminderLinkUse.nonce])
        .returning(ReminderLinkUse.nonce)
    )
    if first is None:
        return Outcome(appointment, done=False)
    caller = Caller(tenant, f"reminder_link:{grant.nonce}", f"reminder_link:{grant.nonce}")
    try:
        if grant.action == "confirm":
            appointment = await attendance.confirm_attendance(session, caller, appointment.id, "email", now)
        else:
            reason = CancelIn(reason="cancelled from the reminder e-mail")
            appointment = await booking.cancel(session, caller, str(appointment.id), reason, now)
    except Conflict as error:
        raise LinkInvalid(error.message) from error
    return Outcome(appointment, done=True)
