"""What a message wants done (intents), whether it says yes or no, and whether it asks to move the
search ("other times", "later", "earlier", "other days", "none of those")."""

from __future__ import annotations

import re

_INTENT_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "human",
        r"\b(human|real person|a person|receptionist|front desk|someone (real|at the (office|clinic"
        r"|practice))|"
        r"staff|operator|speak (to|with) (someone|somebody|a human)|talk (to|with) (someone|somebody)|"
        r"call me back|someone from the (office|clinic|practice))\b",
    ),
    (
        "waitlist",
        r"\b(wait ?list|waiting list|cancellation list|let me know if (something|anything|a slot) (opens"
        r"|frees))",
    ),
    (
        "cancel",
        r"\b(cancel(?!lation list)|call off|can'?t make it|cannot make it|won'?t make it|can'?t come|"
        r"won'?t be able to (make it|come|attend)|not going to make it|drop my (appointment|booking)|"
        r"don'?t need (the|my) (appointment|booking))",
    ),
    (
        "reschedule",
        r"\b(reschedul\w*|re-schedul\w*|rebook|move (my|the|it|our)\b|change (my|the) (appointment|booking)|"
        r"postpone|push (it|my appointment|my booking|the appointment) (back|forward)|bring (it"
        r"|my appointment) forward|"
        r"switch (my|the) (appointment|booking))",
    ),
    (
        "lookup",
        r"\b(when is my|when'?s my|what time is my|do i (still )?have (an|a|any) (appointment|booking)|"
        r"check my (appointment|booking)|look up my|details of my|my upcoming|my next appointment|"
        r"confirm my (appointment|booking) (time|details))",
    ),
    (
        "hours",
        r"\b(opening hours|office hours|business hours|your hours|hours|when are you open|are you open|"
        r"what time do you (open|close)|open on|closed on|when do you (open|close))\b",
    ),
    (
        "book",
        r"\b(book|booking|appointment|schedule|make an? (appointment|booking)|see (the|a) (doctor|dentist"
        r"|hygienist)|"
        r"available|availability|slot|openings|come in|get in|fit me in|squeeze me in|earliest|soonest|"
        r"first available|visit|(do you|have you|would you) (have|got) (anything|something|any ?thing|room"
        r"|space)|"
        r"is there (anything|something|any ?thing|room|space))\b",
    ),
    ("greeting", r"^(hi|hello|hey|good (morning|afternoon|evening)|hiya|howdy)\b"),
    ("thanks", r"\b(thanks|thank you|thx|cheers|that'?s all|bye|goodbye)\b"),
)
_INTENTS = [(name, re.compile(pattern)) for name, pattern in _INTENT_PATTERNS]

_YES = re.compile(
    r"^(?:oh |well |um |uh )?(yes|y|ya|yea|yeah|yep|yup|yess+|sure|ok|okay|k|kk|correct|confirm(ed)?"
    r"|please do|"
    r"go ahead|sounds (good|great|perfect|fine)|perfect|great|that works|works for me|book it|do it|"
    r"absolutely|definitely|of course|alright|all right|fine|that'?s (fine|right|correct|perfect|great)|"
    r"right|exactly|affirmative|please|lets do it|let'?s do (it|that))\b"
)
_NO = re.compile(
    r"^(?:oh |well |um |uh )?(no|n|nope|nah|not really|not quite|cancel that|don'?t|never ?mind|wrong|"
    r"incorrect|that'?s (wrong|not right)|negative|no thanks|change something)\b"
)
_SHIFTS: tuple[tuple[str, str], ...] = (
    (
        "none",
        r"\b(none of (those|these|them|the above)|neither|those (don'?t|do not|won'?t) work|not those|"
        r"(those|these|they) (are|'re) (no good|not good)|none work)\b",
    ),
    (
        "other_days",
        r"\b((an)?other|a different|different|another) (day|days|date|dates)\b|\bnot (on )?that day\b",
    ),
    ("later", r"\b(later|any ?thing later|something later|after that|later in the day)\b"),
    ("earlier", r"\b(earlier|sooner|any ?thing earlier|something earlier|before that)\b"),
    (
        "more",
        r"\b(more (times|options|slots|choices)|other (times|options|slots)|any ?thing else|something else|"
        r"any other (times?|options?)|different times?|what else|show me more|more|others)\b",
    ),
)
_SHIFT_RES = [(name, re.compile(pattern)) for name, pattern in _SHIFTS]


def intents(message: str) -> list[str]:
    """Every intent a normalized message expresses, strongest first (cancel beats book in "cancel my
    booking")."""
    return [name for name, pattern in _INTENTS if pattern.search(message)]


def is_yes(message: str) -> bool:
    return bool(_YES.match(message)) and not _NO.match(message)


def is_no(message: str) -> bool:
    return bool(_NO.match(message))


def shift(message: str) -> str | None:
    """How the patient wants the search moved: none | other_days | later | earlier | more."""
    return next((name for name, pattern in _SHIFT_RES if pattern.search(message)), None)


_NO_TEXTS = re.compile(
    r"\b(?:no|don'?t|do not|without|stop|never)\b[^.!?]{0,20}\b(?:texts?|sms|text messages?|texting"
    r"|message me)\b"
    r"|\bno texts?\b"
)
_TEXTS_OK = re.compile(r"\b(?:text me|texts? (?:is|are) (?:fine|ok|okay)|you can text|texting is fine)\b")


def texts(message: str) -> bool | None:
    """Whether the message agrees to texts about the appointment (True), declines them (False), or
    does not say."""
    if _NO_TEXTS.search(message):
        return False
    if _TEXTS_OK.search(message):
        return True
    return None
