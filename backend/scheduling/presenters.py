"""Scheduling rows to response models. Times are shown in the tenant's timezone (with its offset)."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from backend.core.context import TenantContext
from backend.core.schemas import WEEKDAYS
from backend.customers.schemas import CustomerOut
from backend.scheduling.availability import Slot
from backend.scheduling.models import Appointment, Hold, Provider, Service, WeeklyHours
from backend.scheduling.schemas import AppointmentOut, HoldOut, HoursOut, ProviderOut, ServiceOut, SlotOut


def provider_out(
    provider: Provider, hours: list[WeeklyHours], external_ids: dict[str, str] | None = None
) -> ProviderOut:
    return ProviderOut(
        id=provider.id,
        name=provider.name,
        kind=provider.kind,
        active=provider.active,
        hours=[
            HoursOut(weekday=WEEKDAYS[h.weekday], opens_at=h.opens_at, closes_at=h.closes_at) for h in hours
        ],
        external_ids=external_ids or {},
    )


def service_out(
    service: Service, provider_ids: list[uuid.UUID], external_ids: dict[str, str] | None = None
) -> ServiceOut:
    return ServiceOut(
        id=service.id,
        name=service.name,
        description=service.description,
        aliases=list(service.aliases),
        duration_minutes=service.duration_minutes,
        buffer_minutes=service.buffer_minutes,
        provider_ids=provider_ids,
        external_ids=external_ids or {},
    )


def slot_out(slot: Slot, tz: ZoneInfo) -> SlotOut:
    local = slot.starts_at.astimezone(tz)
    return SlotOut(
        starts_at=local,
        ends_at=slot.ends_at.astimezone(tz),
        local_date=local.date(),
        local_time=local.strftime("%H:%M"),
        provider_id=slot.provider.id,
        provider_name=slot.provider.name,
    )


def hold_out(hold: Hold, tenant: TenantContext) -> HoldOut:
    tz = tenant.timezone
    return HoldOut(
        id=hold.id,
        service_id=hold.service_id,
        provider_id=hold.provider_id,
        starts_at=hold.starts_at.astimezone(tz),
        ends_at=hold.ends_at.astimezone(tz),
        expires_at=hold.expires_at.astimezone(tz),
        status=hold.status,
    )


def appointment_out(appointment: Appointment, tenant: TenantContext) -> AppointmentOut:
    tz = tenant.timezone
    customer = appointment.customer
    return AppointmentOut(
        id=appointment.id,
        reference=appointment.reference,
        status=appointment.status,
        service_id=appointment.service_id,
        service_name=appointment.service.name,
        provider_id=appointment.provider_id,
        provider_name=appointment.provider.name,
        starts_at=appointment.starts_at.astimezone(tz),
        ends_at=appointment.ends_at.astimezone(tz),
        customer=CustomerOut(id=customer.id, name=customer.name, phone=customer.phone, email=customer.email),
        notes=appointment.notes,
        cancel_reason=appointment.cancel_reason,
        confirmed_at=appointment.confirmed_at.astimezone(tz) if appointment.confirmed_at else None,
        confirmed_via=appointment.confirmed_via,
        late_minutes=appointment.late_minutes,
        booked_via=appointment.booked_via,
        source=appointment.source,
        external_id=appointment.external_id,
    )
