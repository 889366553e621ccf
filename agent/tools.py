"""The closed set of chat tools: names, argument schemas, descriptions. Nothing registers more at run time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from policy.engine import CHAT_TOOLS


class ToolArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListServicesArgs(ToolArgs):
    pass


PartOfDay = Literal["morning", "afternoon", "evening"]


class CheckAvailabilityArgs(ToolArgs):
    service_id: str = Field(description="id from list_services")
    date_from: date = Field(description="first day to search, YYYY-MM-DD in the practice's timezone")
    date_to: date | None = Field(
        default=None, description="last day (inclusive); at most 14 days after date_from"
    )
    part_of_day: PartOfDay | None = None
    far_date_confirmed: bool = Field(
        default=False, description="true only after the patient explicitly confirmed a date far in the future"
    )


class HoldSlotArgs(ToolArgs):
    service_id: str
    starts_at: AwareDatetime = Field(description="a starts_at returned by check_availability")
    provider_id: str | None = None
    replace_hold_id: str | None = Field(
        default=None, description="the conversation's current hold, released in the same step"
    )
    far_date_confirmed: bool = False


class ReleaseHoldArgs(ToolArgs):
    hold_id: str


class ConfirmBookingArgs(ToolArgs):
    hold_id: str
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    texts: bool = Field(
        default=True, description="false if the patient does not want texts about this appointment"
    )
    notes: str = Field(default="", max_length=500)


class LookupBookingArgs(ToolArgs):
    reference: str | None = Field(default=None, description="the 6-character booking reference")
    contact: str | None = Field(default=None, description="the phone number or e-mail on the booking")


class RescheduleBookingArgs(ToolArgs):
    reference: str
    starts_at: AwareDatetime
    far_date_confirmed: bool = False


class CancelBookingArgs(ToolArgs):
    reference: str
    reason: str = Field(default="", max_length=500)


class JoinWaitlistArgs(ToolArgs):
    service_id: str
    date_from: date
    date_to: date | None = None
    part_of_day: PartOfDay | None = None
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)


class RequestHumanArgs(ToolArgs):
    reason: str = Field(default="", max_length=500)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    args: type[ToolArgs]

    def json_schema(self) -> dict[str, Any]:
        return self.args.model_json_schema()


TOOLS: Mapping[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec("list_services", "The services the practice offers, with their ids.", ListServicesArgs),
        ToolSpec(
            "check_availability",
            "Free appointment times for a service between two dates (at most 14 days).",
            CheckAvailabilityArgs,
        ),
        ToolSpec(
            "hold_slot",
            "Reserve a free time for a few minutes while the patient's details are collected.",
            HoldSlotArgs,
        ),
        ToolSpec(
            "release_hold",
            "Let the conversation's held time go (the patient changed their mind or will book later).",
            ReleaseHoldArgs,
        ),
        ToolSpec(
            "confirm_booking",
            "Turn the conversation's hold into a booking. The first call shows the patient a summary and "
            "asks them to confirm; call it again with the same details once they answer yes.",
            ConfirmBookingArgs,
        ),
        ToolSpec(
            "lookup_booking",
            "Find the patient's booking by reference and the phone or e-mail on it, or list their bookings "
            "once they are verified.",
            LookupBookingArgs,
        ),
        ToolSpec(
            "reschedule_booking",
            "Move the patient's booking to another free time. The first call shows the patient the old and "
            "new time and asks them to confirm; call it again once they answer yes.",
            RescheduleBookingArgs,
        ),
        ToolSpec(
            "cancel_booking",
            "Cancel the patient's booking. Ask first; call it only after they answer yes in a later message.",
            CancelBookingArgs,
        ),
        ToolSpec(
            "join_waitlist",
            "Put the patient on the waiting list for a service and date range.",
            JoinWaitlistArgs,
        ),
        ToolSpec("request_human", "Ask a member of staff to take over the conversation.", RequestHumanArgs),
    )
}
assert set(TOOLS) == CHAT_TOOLS, "the agent's tools and the policy's allowlists must name the same set"


def openai_tools() -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": spec.name,
                "description": spec.description,
                "parameters": spec.json_schema(),
            },
        }
        for spec in TOOLS.values()
    ]
