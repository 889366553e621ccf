"""What counts as an explicit "yes" before an irreversible step (cancelling)."""

from __future__ import annotations

import re

_YES = re.compile(
    r"(yes|y|yeah|yep|yup|sure|ok|okay|confirm|confirmed|correct|please do|do it|go ahead|absolutely)"
    r"(,? (please|thanks|thank you|cancel it|please cancel( it)?|cancel|that'?s right|go ahead|do it))?"
)
_NO = re.compile(r"\b(no|not|don'?t|do not|nope|keep|wait|stop|never)\b")


def is_explicit_yes(text: str) -> bool:
    """A short, unhedged yes. "yes please", "Yes, cancel it" count; "yes but not now", "maybe" do not."""
    message = re.sub(r"[\s.!]+$", "", text.strip().lower().replace("\u2019", "'"))
    message = re.sub(r"\s+", " ", message)
    if _NO.search(message):
        return False
    return _YES.fullmatch(message) is not None
