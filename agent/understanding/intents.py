"""What a message wants done (intents), whether it says yes or no, and whether it asks to move the
search ("other times", "later", "earlier", "other days", "none of those")."""

from __future__ import annotations

import re

# A noun for a booking the patient already has, with what may stand before it ("my next appointment",
# "the cleaning", "our booking").
_BOOKED = r"(?:appointment|appt|booking|reservation|visit|slot|session|one)"
_IT = rf"(?:it|that|this|them|(?:my|the|our|this|that)\s+(?:[a-z'-]+\s+){{0,2}}?{_BOOKED})"
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
        r"\b(cancel(?!lation list)|cancle|cansel|cancl\b|call (it |that |this )?off|can'?t make it|"
        r"cannot make it|won'?t make it|"
        r"can'?t come|cannot come|won'?t be (able to )?(make it|come|coming|attend\w*|there)|"
        r"not (going to|gonna) (be able to )?(make it|come|be there)|"
        r"(unable|not able) to (make it|come|attend)|"
        r"(i'?m|i am|we'?re|we are) not (coming|attending)|(scrap|drop|delete|remove|ditch|"
        r"axe|scratch) ((my|our|this|that|the)\b(?! (kids?|son|daughter|children|husband|wife|partner|mum|mom"
        r"|dad|car|keys|phone|number)\b)|booking|appointment|appt|reservation)|get rid of|"
        r"take me off|no longer need|(won'?t|will not|don'?t|do not) (be )?need(ing)? (the|my|this|that|"
        r"it|an?)\b|have to cancel|need to cancel|unbook)",
    ),
    (
        "reschedule",
        r"\b(reschedul\w*|resch\w*|reshed\w*|re-schedul\w*|rebook|postpone|rearrange|re-arrange|"
        rf"(move|shove|swap|switch|shift|bump|change|push|put|bring|transfer) {_IT}\b|"
        # Not "bring my": "can I bring my son", "bring my insurance card" are no move.
        r"(move|shove|swap|switch|shift|bump|push|transfer) (my|our)\b|"
        r"(move|shift|bump|push) (it |that |this )?(back|forward|to|till|until|later|earlier)\b|"
        r"bring (it |that |this )?forward|change (the|my) (time|day|date)|"
        r"different (time|day|date) for (my|the)|"
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
        r"what time (do |does )?(you|the (office|clinic|practice)) (open|close|shut)|open on|closed on|"
        r"when do you (open|close|shut)|open late|close early|(do|are) you (do |open |work |working )?(on )?"
        r"(evenings|weekends|saturdays|sundays|late|nights|early mornings))\b",
    ),
    (
        "book",
        r"\b(book|booking|appointment|schedule|make an? (appointment|booking)|see (the|a) (doctor|dentist"
        r"|hygienist)|"
        r"available|availability|slot|openings|come in|get in|fit me in|squeeze me in|earliest|soonest|"
        r"first available|visit|pencil me in|put me (in|down)|slot me in|book me|sign me up|reserve|"
        r"(do you|have you|would you) (have|got) (anything|something|any ?thing|room"
        r"|space)|"
        r"is there (anything|something|any ?thing|room|space))\b",
    ),
    ("another", r"\b(another|a second|one more|an extra|a new) (appointment|booking|visit|one)\b"),
    ("greeting", r"^(hi|hello|hey|good (morning|afternoon|evening)|hiya|howdy)\b"),
    ("thanks", r"\b(thanks|thank you|thx|cheers|ta)\b"),
    (
        "bye",
        r"\b(bye|goodbye|see you|see ya|that'?s (all|everything|it)|that will be all|that'?ll be all|"
        r"nothing else|all good|all set|have a (good|nice|great) (day|one|evening))\b",
    ),
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
_LATER_IN_THE_WEEK_WORDS = r"\blater (?:in|this) (?:the )?week\b|\bend of the week\b"
_SHIFTS: tuple[tuple[str, str], ...] = (
    (
        "none",
        r"\b(none of (those|these|them|the above)|neither|those (don'?t|do not|won'?t) work|not those|"
        r"(those|these|they) (are|'re) (no good|not good)|none work)\b",
    ),
    ("later_week", _LATER_IN_THE_WEEK_WORDS),
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
_LATER_IN_THE_WEEK = re.compile(_LATER_IN_THE_WEEK_WORDS)


def intents(message: str) -> list[str]:
    """Every intent a normalized message expresses, strongest first (cancel beats book in "cancel my
    booking")."""
    return [name for name, pattern in _INTENTS if pattern.search(message)]


def is_yes(message: str) -> bool:
    return bool(_YES.match(message)) and not _NO.match(message)


def is_no(message: str) -> bool:
    return bool(_NO.match(message))


def later_in_the_week(message: str) -> tuple[int, int] | None:
    """Where the message asks for later in the week ("anything later in the week?")."""
    found = _LATER_IN_THE_WEEK.search(message)
    return found.span() if found else None


def shift(message: str) -> str | None:
    """How the patient wants the search moved: none | later_week | other_days | later | earlier |
    more."""
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
