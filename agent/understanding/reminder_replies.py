"""A reply to an appointment reminder, in the patient's own words, read into what it means for that
appointment: confirm ("yes I'll be there", "see u then 👍"), cancel ("can't make it, sorry"),
reschedule ("can we do Friday instead", with the day or time when one is given), running late
("running 10 mins late", with how late), a question about the visit ("what time was it again?",
"where do I park?") or unclear ("?", "who is this").

Built on the general reading (intents, days, times, yes/no, questions) with the few patterns only a
reminder makes meaningful: coming, running late and how late, the visit's time or place asked about.
Pure, like every reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agent.understanding import commands, questions
from agent.understanding.reading import Context, Reading, read
from agent.understanding.text import NUMBER_WORDS, normalize

Outcome = Literal["confirm", "cancel", "reschedule", "late", "question", "unclear"]
Asks = Literal["when", "who", "where", "bring", "other"]
OUTCOMES: tuple[Outcome, ...] = ("confirm", "cancel", "reschedule", "late", "question", "unclear")

_NUMBER = r"(?:\d{1,3}|" + "|".join(NUMBER_WORDS) + r"|a few|few|a couple(?: of)?|couple(?: of)?)"
_MINUTES = r"(?:m|mn|min|mins|minutes?|minits?|mintues?|minuets?)\b"
_LATE = re.compile(
    r"\b(?:run(?:ning|nin)?|be|been|am|i'?m|im|we'?re|will be|i'?ll be|ill be|gonna be|going to be"
    r"|bit|little|lil|slightly|touch|abit|bit of|tad|so|sorry|very|might be|may be|could be|prob(?:ably)?"
    rf"|{_NUMBER} ?{_MINUTES}|\d+ ?m)\s+(?:a |an )?(?:bit |little |lil |touch |tad |few |wee )?"
    r"(?:late|l8|behind(?: schedule)?|delayed)\b"
    r"|\b(?:stuck in|caught in|heavy|bad) traffic\b|\btraffic is\b|\b(?:held up|running behind|delayed)\b"
    r"|\b(?:on my way|omw|otw|on the way|nearly there|almost there|parking (?:now|up)|pulling in"
    r"|walking (?:in|over)|just arriving)\b"
    r"|\b(?:be|get|arrive|arriving|there|here) in (?:about |around |like |roughly |another )?"
    rf"(?:{_NUMBER}|half an hour|an hour|a quarter of an hour|15)\b"
    r"|\beta\b|\blate\b(?! cancel)(?! fee)(?! charge)"
)
_NOT_LATE = re.compile(
    r"\b(?:open|opened|close|closes|closed|stay|work|works|working|appointments?|slots?|times?) late\b"
    r"|\blate (?:appointment|slot|afternoon|morning|evening|night|opening)s?\b|\btoo late to\b"
)
_HOW_LATE = re.compile(
    rf"\b(?P<n>\d{{1,3}}|{'|'.join(NUMBER_WORDS)})(?:\s?(?:-|to|or)\s?(?P<m>\d{{1,3}}))?\s?{_MINUTES}"
    r"|\b(?P<half>half an hour|half hour|30 ?mins?)\b|\b(?P<quarter>(?:a )?quarter of an hour|quarter hour)\b"
    r"|\b(?P<hour>an hour|one hour|1 ?hr|1 hour)\b"
    r"|\b(?:be|get|there|here|arrive|arriving) in (?:about |around |like |roughly |another )?"
    r"(?P<bare>\d{1,3})\b"
)
_COMING = re.compile(
    r"\b(?:i'?ll|ill|i will|we'?ll|we will|i'?m|im|we'?re|will|shall|i can|we can|can|gonna|going to)"
    r" (?:definitely |deffo |def |still |totally |certainly |absolutely |surely |be able to )?"
    r"(?:be there|be their|be thr|be in|be attending|attend|come|coming|make it|be coming|show up)\b"
    r"|^c\W*$|\bc (?:u|you|ya)\b"
    r"|\bsee (?:you|ya|u|yu|y'?all) (?:then|there|soon|tomorrow|on|at|next|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday|in the)\b|\bsee (?:you|ya|u)\W*$|\bc u\b|\bcu (?:then|there|tmr)\b"
    r"|\bcount (?:me|us) in\b|\blooking forward\b|\bstill on\b|\bwill do\b|\bbe there\b"
    r"|\bconfirm(?:ed|ing|s)?\b|\bconfrim\w*|\bcomfirm\w*|\bconfirmm?\b|\bconf\b|\bcnfrm\b"
    r"|\ball good\b|\bsounds? (?:good|great|perfect|fine)\b|\bno problem\b|\bnp\b|\bthat works\b"
    r"|\bworks for me\b|\bok(?:ay)? (?:thanks|thank you|ty|thx|cheers|great|see|will)\b|\bgot it\b"
)
_NOT_COMING = re.compile(
    r"\b(?:not|never|n'?t|cant|cannot|wont|dont)\b[^.!?,]{0,12}\b(?:be there|come|coming|make it|attend)"
)
_ASKS_WHEN = re.compile(
    r"\b(?:what|wat|wot|which) (?:time|day|date)\b|\bwhen (?:is|was|'s|s) (?:it|that|the|my)\b"
    r"|\bwhen(?:'s| is) it\b|\b(?:time|day|date) again\b|\bremind me (?:of )?(?:the )?(?:time|when|day)"
    r"|\bwhat time\b|\bwhen again\b|\bis (?:it|that) (?:today|tomorrow|at|\d)"
)
_ASKS_WHO = re.compile(
    r"\bwho (?:am i|will i be|is it|do i) (?:seeing|see|with)\b|\bwhich (?:doctor|dentist)\b"
)
_ASKS_WHERE = re.compile(
    r"\bwhere\b|\baddress\b|\bdirections?\b|\bpark(?:ing)?\b|\blocation\b|\bwhich (?:office|clinic|branch)\b"
)
_ASKS_BRING = re.compile(
    r"\b(?:bring|do i need|need to have|should i have|fast(?:ing)?|eat before|wear|paperwork|forms?"
    r"|insurance card)\b"
)
# Not about this appointment at all, or not finished: say who we are and ask.
_NOT_ABOUT_IT = re.compile(
    r"\bwho(?: is|'s|s) (?:this|that|it)\b|\bwho (?:sent|sends|texted|is texting|wrote) (?:this|me)\b"
    r"|\bwhat(?: is|'s|s) this\b|\bwho are you\b"
    r"|\bwrong (?:number|person)\b|\b(?:but|and|or|because|cos|so)\W*$"
)
_KEYWORD_RESCHEDULE = re.compile(r"^r\W*$")
# "can't do 10": the time is refused, not the visit.
_CANT_DO = re.compile(r"\b(?:can'?t|cannot|can not|won'?t|not) (?:make|do)\b")
# "ok?", "yes??": a yes with a question mark and nothing else asks rather than answers.
_TENTATIVE = re.compile(r"^\W*[a-z']+\W*\?+\W*$")
# "can't make it, can we do next week?": a cancel that asks for another time is a move.
_ASKS_ANOTHER = re.compile(r"\b(?:can|could|may) (?:we|i|you)\b|\b(?:how|what) about\b|\binstead\b")
# A reschedule asked for without the word: "can I come Thursday instead", "anything later?"
_INSTEAD = re.compile(
    r"\binstead\b|\b(?:another|different|other|new|later|earlier) (?:day|date|time|slot|appointment)\b"
    r"|\b(?:any ?thing|something|any (?:slots?|times?)) (?:later|earlier|else|other)\b"
    r"|\b(?:can|could) (?:i|we) (?:come|do|make it|switch|swap|change)\b[^?]*\b(?:at|on|to|for)\b"
)


@dataclass(frozen=True)
class ReminderReply:
    outcome: Outcome
    reading: Reading
    # late: how many minutes, when the patient said (a range reads as its top).
    minutes_late: int | None = None
    # question: what about the visit is asked; a question can also confirm ("yes, where do I park?"),
    # and then `rest` is the message without its confirming words, what is left to answer.
    asks: Asks | None = None
    confirms: bool = False
    rest: str | None = None

    @property
    def says_when(self) -> bool:
        """reschedule: whether the new day or time is in the words already."""
        return self.reading.says_when


def read_reminder_reply(text: str, context: Context) -> ReminderReply:
    """What a reply to a reminder means for the appointment it reminded of."""
    message = normalize(text)
    reading = read(text, context)
    found = set(reading.intents)
    said_yes = reading.yes and not _TENTATIVE.match(message)
    coming = (said_yes or bool(_COMING.search(message))) and not _NOT_COMING.search(message)

    def outcome(kind: Outcome, **more: object) -> ReminderReply:
        return ReminderReply(kind, reading, **more)  # type: ignore[arg-type]

    if _NOT_ABOUT_IT.search(message):
        return outcome("unclear")
    if _LATE.search(message) and not _NOT_LATE.search(message) and "cancel" not in found:
        return outcome("late", minutes_late=minutes_late(message))
    moving = (
        "reschedule" in found
        or bool(_INSTEAD.search(message) or _KEYWORD_RESCHEDULE.match(message))
        or reading.shift in _MOVES
        or ("book" in found and reading.says_when)  # "is there something next week?"
    )
    refusing = "cancel" in found or _CANT_DO.search(message)
    another = refusing and (reading.says_when or reading.shift) and _ASKS_ANOTHER.search(message)
    if another or (
        moving and ("cancel" in found or reading.says_when or "reschedule" in found or reading.shift)
    ):
        return outcome("reschedule")
    if "cancel" in found or (reading.no and not coming and not reading.says_when):
        return outcome("cancel")
    if moving:
        return outcome("reschedule")
    asks = _asks(message, found, coming)
    if asks is not None:
        rest = without_confirmation(text, context) if coming else None
        return outcome("question", asks=asks, confirms=coming, rest=rest)
    if coming or "bye" in found:
        return outcome("confirm", confirms=True)
    return outcome("unclear")


_MOVES = frozenset({"later", "earlier", "other_days", "later_week"})


def _asks(message: str, found: set[str], coming: bool) -> Asks | None:
    if _ASKS_WHEN.search(message) or "lookup" in found:
        return "when"
    if _ASKS_WHO.search(message):
        return "who"
    # "ok will be there", "can confirm!": a statement that starts like a question does not ask.
    asking = "?" in message or (questions.topic(message) is not None and not coming)
    if asking and _ASKS_WHERE.search(message):
        return "where"
    if asking and _ASKS_BRING.search(message):
        return "bring"
    if "hours" in found or "human" in found:
        return "other"
    if asking and not commands.command(message) and re.search(r"[a-z]{3,}.*[a-z]{3,}", message):
        return "other"  # a question in words of its own; "?" alone or "huh?" is no question about anything
    return None


# Where a clause ends: after its punctuation, or at a dash between words.
_CLAUSE_END = re.compile(r"(?<=[,.;:!?])\s*|\s+[-\u2013\u2014]\s+")


def without_confirmation(text: str, context: Context) -> str:
    """The words of a reply that are not only a yes ("yes I'll be there, is there parking?" -> "is
    there parking?"); the whole text when every clause is more than that, or only a yes."""
    kept = []
    for clause in _CLAUSE_END.split(text):
        words = normalize(clause)
        if not words.strip():
            continue
        coming = bool(_COMING.search(words))
        # "will be there." starts like a question and is not one; "yes where do I park" is one.
        only_yes = (
            "?" not in clause
            and (coming or read(clause, context).yes)
            and (coming or questions.topic(words) is None)
        )
        if not only_yes:
            kept.append(clause.strip())
    return " ".join(kept) or text


def minutes_late(message: str) -> int | None:
    """How late a running-late message says, in minutes; None when it gives no figure."""
    match = _HOW_LATE.search(message)
    if match is None:
        return None
    if match["half"]:
        return 30
    if match["quarter"]:
        return 15
    if match["hour"]:
        return 60
    figure = match["bare"] or match["m"] or match["n"]
    value = int(figure) if figure.isdigit() else NUMBER_WORDS[figure]
    return value if 0 < value <= 240 else None
