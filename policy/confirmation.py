"""Consent before a transactional step: what counts as an explicit "yes", and the rules that want one.

Cancelling, booking and moving all need the patient's yes in a later message than the question. For
a booking or a move the question is a summary (service, provider, day and time, name and contact;
old and new time) and the yes must answer that very summary, in the next message: a changed slot,
service or contact needs a new yes, and a digit that answered another question never counts.
"""

from __future__ import annotations

import re

from policy.facts import Decision, PendingCancel, PolicyContext, ToolCall, allow, deny, need

_YES_WORDS = (
    r"(?:oh |well |um )?(?:yes|y|ya|yea|yeah|yep|yup|sure|ok|okay|k|confirm|confirmed|correct|please do"
    r"|do it|"
    r"go ahead|absolutely|definitely|of course|alright|all right|fine|perfect|great|sounds (?:good|great"
    r"|perfect)|"
    r"that works|works for me|that'?s (?:fine|right|correct|perfect|great)|book it|move it|please book it|"
    r"cancel it|please cancel(?: it)?|yes please)"
)
_TAIL = (
    r"(?:,? ?(?:please|thanks|thank you|thank u|cancel it|please cancel(?: it)?|cancel|book it"
    r"|please book(?: it)?|"
    r"move it|please move(?: it)?|that'?s (?:right|fine|great)|go ahead|do it|sounds (?:good|great)|perfect"
    r"|great|"
    r"that works|works for me|sure|absolutely))"
)
_YES = re.compile(rf"{_YES_WORDS}{_TAIL}{{0,2}}")
_NO = re.compile(r"\b(no|not|don'?t|do not|nope|keep|wait|stop|never|but|maybe|guess)\b")


def is_explicit_yes(text: str) -> bool:
    """A short, unhedged yes. "yes please", "Yes, cancel it" count; "yes but not now", "maybe" do not."""
    # rstrip, not a `[...]+$` pattern: that one rescans a long run of dots at every position.
    message = text.strip().lower().replace("\u2019", "'").rstrip(" \t\r\n.!")
    message = re.sub(r"[!.]+", "", message)
    message = re.sub(r"\s+", " ", message)
    if _NO.search(message):
        return False
    return _YES.fullmatch(message) is not None


def cancel_explicitly_confirmed(call: ToolCall, ctx: PolicyContext) -> Decision:
    """Cancelling needs a plain "yes" from the patient, in a turn after they were asked."""
    rule = "cancel.explicit_confirmation"
    pending: PendingCancel | None = ctx.pending_cancel
    reference = str(call.args.get("reference") or "").strip().upper()
    if pending is None or pending.reference != reference:
        return deny(rule, "ask the patient to confirm the cancellation first")
    if pending.asked_in_turn >= ctx.turn:
        return deny(rule, "the confirmation must come in a later message than the question")
    if not is_explicit_yes(ctx.user_text):
        return deny(rule, "the patient has not said yes to cancelling")
    return allow(rule, "the patient said yes")


def _summary_confirmed(rule: str, call: ToolCall, ctx: PolicyContext) -> Decision:
    summary = need(ctx.summary, "summary")
    pending = ctx.pending_confirmation
    if pending is None or pending.action != call.name or pending.digest != summary.digest:
        return deny(rule, "show the patient the summary and ask them to confirm it first")
    if pending.asked_in_turn >= ctx.turn:
        return deny(rule, "the confirmation must come in a later message than the summary")
    if pending.asked_in_turn != ctx.turn - 1:
        return deny(rule, "the yes must answer the summary, in the next message; ask again")
    if not is_explicit_yes(ctx.user_text):
        return deny(rule, "the patient has not said yes to the summary")
    return allow(rule, "the patient said yes to the summary")


def booking_explicitly_confirmed(call: ToolCall, ctx: PolicyContext) -> Decision:
    """Booking needs a yes to a summary of service, provider, day and time, name and contact."""
    return _summary_confirmed("booking.explicit_confirmation", call, ctx)


def reschedule_explicitly_confirmed(call: ToolCall, ctx: PolicyContext) -> Decision:
    """Moving needs a yes to a summary of the old and the new time."""
    return _summary_confirmed("reschedule.explicit_confirmation", call, ctx)
