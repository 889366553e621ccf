"""Runs one tool call: closed set -> argument schema -> policy decision (audited) -> the practice's desk.

Both planners call tools only through here, so the deterministic engine and a language model are
held to exactly the same rules. The executor also keeps the conversation state in step with what
the tools did (the hold, who the patient is verified as, a cancellation waiting for its "yes").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from agent import summaries
from agent.ports import BookingInfo, Contact, Desk, PracticeInfo, SlotInfo, ToolFailure
from agent.replies import when_label
from agent.state import ConversationState
from agent.tools import (
    TOOLS,
    CheckAvailabilityArgs,
    ConfirmBookingArgs,
    JoinWaitlistArgs,
    LookupBookingArgs,
    ToolArgs,
)
from agent.understanding import PARTS_OF_DAY
from policy import engine
from policy.engine import (
    BookingFacts,
    Decision,
    PendingCancel,
    PendingConfirmation,
    PolicyContext,
    Summary,
    ToolCall,
)
from policy.switches import clinic_switches

CLOSED_SET_RULE = "tools.closed_set"
CONFIRMATION_RULES = frozenset({"booking.explicit_confirmation", "reschedule.explicit_confirmation"})


@dataclass(frozen=True)
class TurnFacts:
    """What the channel and the loop know about this turn."""

    channel: str
    now: datetime
    user_text: str
    emergency: bool = False
    channel_phone: str | None = None


@dataclass(frozen=True)
class ToolOutcome:
    name: str
    ok: bool
    result: Any = None
    decision: Decision | None = None
    failure: ToolFailure | None = None
    # For a booking or a move: what the patient is asked to agree to (shown when the rule wants a yes).
    summary: Summary | None = None

    @property
    def denied_by(self) -> str | None:
        return self.decision.rule if self.decision is not None and not self.decision.allowed else None

    @property
    def failure_code(self) -> str | None:
        return self.failure.code if self.failure is not None else None


class ToolExecutor:
    def __init__(
        self, desk: Desk, practice: PracticeInfo, state: ConversationState, facts: TurnFacts
    ) -> None:
        self.desk = desk
        self.practice = practice
        self.state = state
        self.facts = facts
        self.calls: list[str] = []

    async def call(self, name: str, raw_args: Mapping[str, Any]) -> ToolOutcome:
        self.calls.append(name)
        spec = TOOLS.get(name)
        if spec is None:
            decision = Decision(False, CLOSED_SET_RULE, f"{name!r} is not one of the receptionist's tools")
            await self.desk.record_decision(ToolCall(name, {}), decision)
            return ToolOutcome(name, False, decision=decision)
        try:
            args = spec.args.model_validate(dict(raw_args))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in error.errors()
            )
            return ToolOutcome(name, False, failure=ToolFailure("INVALID_ARGUMENTS", problems))
        call = ToolCall(name, self._policy_args(args))
        context = await self._context(call)
        decision = engine.evaluate(call, context)
        await self.desk.record_decision(call, decision)
        if not decision.allowed:
            self._after_denial(call, decision, context)
            return ToolOutcome(name, False, decision=decision, summary=context.summary)
        try:
            result = await self._run(name, args, context)
        except ToolFailure as failure:
            self._after_failure(name, failure)
            return ToolOutcome(name, False, decision=decision, failure=failure)
        self._after_success(name, args, result, context)
        return ToolOutcome(name, True, result=result, decision=decision)

    async def switched_on(self, name: str) -> bool:
        """Whether the clinic's switches let `name` run here at all, asked before its arguments are
        known (a patient who asks to cancel is told at once when the clinic does that itself); a
        refusal is audited with the switch's rule."""
        call = ToolCall(name, {})
        decision = clinic_switches(call, await self._context(call))
        if not decision.allowed:
            await self.desk.record_decision(call, decision)
        return decision.allowed

    # ---- policy facts ----

    def _policy_args(self, args: ToolArgs) -> dict[str, Any]:
        data = args.model_dump(mode="json")
        if data.get("contact"):
            data["contact"] = self.desk.normalize_contact(data["contact"])
        if data.get("reference"):
            data["reference"] = data["reference"].strip().upper()
        return data

    async def _context(self, call: ToolCall) -> PolicyContext:
        state, facts = self.state, self.facts
        target: BookingFacts | None = None
        if call.args.get("reference") and call.name in {
            "lookup_booking",
            "reschedule_booking",
            "cancel_booking",
        }:
            target = await self.desk.booking_facts(call.args["reference"])
        hold = state.hold
        return PolicyContext(
            channel=facts.channel,
            now=facts.now,
            timezone=self.practice.timezone,
            turn=state.turn,
            user_text=facts.user_text,
            emergency=facts.emergency,
            far_date_confirm_days=self.practice.far_date_confirm_days,
            active_hold_id=hold.id if hold is not None and hold.expires_at > facts.now else None,
            verified_customer_id=state.verified_customer_id,
            channel_phone=facts.channel_phone,
            target=target,
            pending_cancel=state.pending_cancel,
            has_contact=bool(call.args.get("name") and (call.args.get("phone") or call.args.get("email"))),
            summary=self._summary(call, target),
            pending_confirmation=state.pending_confirmation,
            switches=self.practice.switches,
        )

    def _summary(self, call: ToolCall, target: BookingFacts | None) -> Summary | None:
        """What this booking or move would do, as the patient is asked to agree to it."""
        tz = self.practice.timezone
        if call.name == "confirm_booking" and self.state.hold is not None:
            args = call.args
            phone = self.desk.normalize_contact(args["phone"]) if args.get("phone") else None
            email = args["email"].strip().lower() if args.get("email") else None
            return summaries.booking(self.state.hold, args["name"], phone, email, args["texts"], tz)
        if call.name == "reschedule_booking" and target is not None:
            return summaries.move(target, datetime.fromisoformat(call.args["starts_at"]), tz)
        return None

    # ---- running ----

    async def _run(self, name: str, args: Any, context: PolicyContext) -> Any:
        desk = self.desk
        match name:
            case "list_services":
                return await desk.list_services()
            case "check_availability":
                return await self._availability(args)
            case "hold_slot":
                return await desk.hold_slot(
                    args.service_id, args.starts_at, args.provider_id, args.replace_hold_id
                )
            case "release_hold":
                return await desk.release_hold(args.hold_id)
            case "confirm_booking":
                return await desk.confirm_booking(args.hold_id, _contact(args), args.notes)
            case "lookup_booking":
                return await self._lookup(args, context)
            case "reschedule_booking":
                return await desk.reschedule_booking(args.reference.upper(), args.starts_at)
            case "cancel_booking":
                return await desk.cancel_booking(args.reference.upper(), args.reason)
            case "join_waitlist":
                return await desk.join_waitlist(
                    args.service_id,
                    args.date_from,
                    args.date_to or args.date_from,
                    args.part_of_day,
                    _contact(args),
                )
            case "request_human":
                return await desk.request_human(args.reason)
        raise AssertionError(f"no runner for {name}")  # TOOLS and this match are the same closed set

    async def _availability(self, args: CheckAvailabilityArgs) -> list[SlotInfo]:
        slots = await self.desk.find_slots(args.service_id, args.date_from, args.date_to or args.date_from)
        if args.part_of_day is None:
            return slots
        start, end = PARTS_OF_DAY[args.part_of_day]
        zone = ZoneInfo(self.practice.timezone)
        return [slot for slot in slots if start <= slot.starts_at.astimezone(zone).time() < end]

    async def _lookup(self, args: LookupBookingArgs, context: PolicyContext) -> list[BookingInfo]:
        if args.reference:
            return [await self.desk.get_booking(args.reference.upper())]
        if context.channel in engine.PHONE_CHANNELS:
            return await self.desk.upcoming_bookings(None, context.channel_phone)
        return await self.desk.upcoming_bookings(context.verified_customer_id, None)

    # ---- keeping the state in step ----

    def _after_success(self, name: str, args: Any, result: Any, context: PolicyContext) -> None:
        state = self.state
        if name == "hold_slot":
            state.hold = result
        elif name == "release_hold":
            state.hold = None
        elif name == "confirm_booking":
            booking: BookingInfo = result
            state.hold = None
            state.pending_confirmation = None
            state.verified_customer_id = booking.customer_id
            state.reference = booking.reference
        elif name == "lookup_booking" and args.reference:
            if context.target is not None:
                state.verified_customer_id = state.verified_customer_id or context.target.customer_id
            state.reference = args.reference.upper()
            state.failed_lookups = 0
        elif name in {"reschedule_booking", "cancel_booking"}:
            state.reference = result.reference
            state.pending_cancel = None
            state.pending_confirmation = None
        elif name == "request_human":
            state.handed_to_human = True

    def _after_denial(self, call: ToolCall, decision: Decision, context: PolicyContext) -> None:
        if decision.rule in CONFIRMATION_RULES and context.summary is not None:
            # The patient is shown this summary now; only a yes to it, next, lets the call through.
            self.state.pending_confirmation = PendingConfirmation(
                call.name, context.summary.digest, self.state.turn
            )
        elif call.name == "cancel_booking" and decision.rule == "cancel.explicit_confirmation":
            reference = call.args["reference"]
            pending = self.state.pending_cancel
            if pending is None or pending.reference != reference:
                self.state.pending_cancel = PendingCancel(reference, self.state.turn)
        elif call.name == "lookup_booking" and decision.rule == "identity.own_booking":
            self.state.failed_lookups += 1

    def _after_failure(self, name: str, failure: ToolFailure) -> None:
        if failure.code == "PASSED_TO_STAFF":
            self.state.handed_to_human = True  # a caller is put through to the staff, where there is a line
        if name == "confirm_booking" and failure.code in {
            "HOLD_EXPIRED",
            "NOT_FOUND",
            "SLOT_TAKEN",
            "CONFLICT",
        }:
            self.state.hold = None


def _contact(args: ConfirmBookingArgs | JoinWaitlistArgs) -> Contact:
    texts = args.texts if isinstance(args, ConfirmBookingArgs) else False
    return Contact(name=args.name, phone=args.phone, email=args.email, texts=texts)


def describe(outcome: ToolOutcome, timezone: str) -> dict[str, Any]:
    """A tool outcome as JSON for a language model: plain facts, local times spelled out."""
    if outcome.decision is not None and not outcome.decision.allowed:
        return {"error": "denied_by_policy", "rule": outcome.decision.rule, "reason": outcome.decision.reason}
    if outcome.failure is not None:
        return {"error": outcome.failure.code, "message": outcome.failure.message}
    result = outcome.result
    if outcome.name == "list_services":
        return {
            "services": [{"id": s.id, "name": s.name, "duration_minutes": s.duration_minutes} for s in result]
        }
    if outcome.name == "check_availability":
        return {
            "slots": [
                {
                    "starts_at": s.starts_at.isoformat(),
                    "label": when_label(s.starts_at, timezone),
                    "provider_id": s.provider_id,
                    "provider": s.provider_name,
                }
                for s in result[:12]
            ],
            "more": max(0, len(result) - 12),
        }
    if outcome.name == "hold_slot":
        return {
            "hold_id": result.id,
            "label": when_label(result.starts_at, timezone),
            "provider": result.provider_name,
            "expires_at": result.expires_at.isoformat(),
        }
    if outcome.name == "lookup_booking":
        return {"bookings": [_booking_json(b, timezone) for b in result]}
    if isinstance(result, BookingInfo):
        return _booking_json(result, timezone)
    if outcome.name == "join_waitlist":
        return {
            "waitlist_id": result.id,
            "from": result.first_day.isoformat(),
            "to": result.last_day.isoformat(),
        }
    return {"ok": True}


def _booking_json(booking: BookingInfo, timezone: str) -> dict[str, Any]:
    return {
        "reference": booking.reference,
        "service": booking.service_name,
        "provider": booking.provider_name,
        "when": when_label(booking.starts_at, timezone),
        "starts_at": booking.starts_at.isoformat(),
        "status": booking.status,
    }


def booking_card(booking: BookingInfo, timezone: str) -> dict[str, Any]:
    return {"type": "booking", **_booking_json(booking, timezone), "name": booking.customer_name}
