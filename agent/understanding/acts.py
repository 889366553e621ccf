"""Dialogue acts: a message read into the ordered list of what it asks for, each with a confidence.

"are you open late on Thursdays? if so pencil me in for a cleaning after work" is two acts: a
question about the hours, then a booking (that inherits the Thursday). "drop my filling on the 9th
and put me in for a check-up the week after" is a cancel, then a booking. The kinds follow the
commands of dialogue-understanding systems such as Rasa CALM (start a flow, set a slot, cancel,
clarify, chit-chat, knowledge answer, human handoff), in this receptionist's words:

  answer       a question: topic "hours" | "duration" | "offered" | "price" | "question"
  existing     a booking the patient has: topic "lookup" | "move" | "cancel"; `hint` picks which
  book         start a booking (or another one: topic "another")
  frame        slots only (service, provider, day, time, name, contact, yes/no, an offer pointed
               at): continue what is in progress
  waitlist     join the waiting list
  not_offered  a service the practice does not offer (`subject`, as said back); topic "unknown"
               when it is a "do you do X" with X in no lexicon
  decline      end politely, never mind, not now; topic "keep" for "leave it as it is"
  human        ask for a person
  restart | help | menu      one meaning in every state
  greet | thanks | bye       chit-chat
  unknown      nothing readable: topic "foreign" | "emoji" | "unspaced" | None

Pure, like every reader: the same text and context always give the same acts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from agent.understanding import booked, commands, lexicon, questions
from agent.understanding import reading as readers
from agent.understanding.reading import Context, Reading
from agent.understanding.text import blank, normalize

TASK_INTENTS = ("human", "waitlist", "cancel", "reschedule", "lookup")
EXISTING_TOPICS = {"cancel": "cancel", "reschedule": "move", "lookup": "lookup"}
STRONG, MEDIUM, WEAK = 0.9, 0.7, 0.5

# Where one request may end and another begin: after a sentence, before "and", "also", "if so"...
_BREAKS = re.compile(
    r"(?<=[?!;])\s+|(?<=\.)\s+(?=[a-zA-Z])|\s*,?\s+(?=(?:and(?! a half| half)|also|plus|then|but|if so|if not"
    r"|otherwise|or else)\b)|,\s+(?=(?:can|could|would|will|do|is|are) (?:you|i|we|there)\b)",
    re.IGNORECASE,
)
_ABBREVIATION = re.compile(r"\b(?:dr|mr|mrs|ms|st|no|vs|etc|approx|[a-z])\.$", re.IGNORECASE)
_INSTEAD = re.compile(r"\binstead\b|\brather\b")
_MAKE_IT = re.compile(r"\b(?:make it|can it be|could it be|is there any chance)\b")
_EARLIEST = re.compile(
    r"\b(?:your|the) (?:very )?first (?:\w+ ){0,3}?(?:slot|appointment|opening|time|spot)\b"
)
_DESCRIBES = re.compile(
    r"\b(?:i|we) (?:booked|have|had|made|got) (?:a|an|my|the)\b|\bmy (?:booking|appointment|reference) is\b"
)
# A change asked about rather than asked for: a question about the policy.
_HYPOTHETICAL = re.compile(
    r"\b(?:if|in case|when) (?:i|we|you|someone|a patient) (?:\w+ ){0,3}?(?:cancel|reschedul|move|miss)\w*"
    r"|\b(?:cancellation|rescheduling) (?:policy|fee|charge)|\b(?:policy|fee|charge) for (?:cancel|miss)\w*"
)
MAX_PIECES = 8


@dataclass(frozen=True)
class Act:
    kind: str
    reading: Reading
    confidence: float = STRONG
    topic: str | None = None
    subject: str = ""  # not_offered: the service as said back; answer: the question's words
    said: str = ""  # the words of the message this act comes from
    hint: Reading | None = None  # existing: the words that say which booking
    alternative: Act | None = None  # the runner-up reading, when it was close
    faq: str | None = None  # answer: the FAQ entry a reader chose (a language model does)


class _Memo:
    """One message's readings, each text read once however many requests look at it."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.readings: dict[str, Reading] = {}

    def __call__(self, text: str) -> Reading:
        if text not in self.readings:
            self.readings[text] = readers.read(text, self.context)
        return self.readings[text]


def read_acts(text: str, context: Context) -> list[Act]:
    """The acts of a message, in the order it says them."""
    read = _Memo(context)
    message = normalize(text)
    command = commands.command(message)
    if command is not None:
        return [Act(command, Reading(text=message), said=text)]
    catalogue = " ".join(n for s in context.services for n in (*s.names, s.description)).lower()
    terms = lexicon.terms_for(context.profile, catalogue)
    acts: list[Act] = []
    for group in _groups(text, read, terms):
        acts += _acts_of(group, read, terms, acts)
    acts = _inherit(acts)
    if not any(a.kind != "frame" or a.reading.understood for a in acts):
        reason = commands.unreadable(message)
        return [Act("unknown", acts[0].reading if acts else Reading(text=message), topic=reason, said=text)]
    return acts


# ---- one message, cut where a new request begins ----


def _groups(text: str, read: _Memo, terms: tuple[lexicon.Term, ...]) -> list[str]:
    """The message cut into pieces that each carry a request; a piece that asks nothing of its own
    ("my name's Jane") stays with the one before it."""
    cuts = [0]
    for match in _BREAKS.finditer(text):
        if len(cuts) >= MAX_PIECES:
            break
        if _ABBREVIATION.search(text[max(0, match.start() - 8) : match.start()]):
            continue
        cuts.append(match.end())
    cuts.append(len(text))
    pieces = [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1) if text[cuts[i] : cuts[i + 1]].strip()]
    if len(pieces) <= 1:
        return [text]
    groups: list[list[int]] = []  # [start, end, what the group is]
    for start, end in pieces:
        what = _what(text[start:end], read, terms)
        if groups and (what == "none" or (what == "slots" and groups[-1][2] != "question")):
            groups[-1][1] = end
        elif groups and (groups[-1][2] == "none" or (groups[-1][2] == "slots" and what == "request")):
            groups[-1][1:] = [end, what]  # what came before only set the scene for this request
        else:
            groups.append([start, end, what])
    return [text[start:end] for start, end, _ in groups]


def _what(piece: str, read: _Memo, terms: tuple[lexicon.Term, ...]) -> str:
    """ "request" (asks for something to be done), "question" (asks to be told something), "slots"
    (says what, when or who, nothing more) or "none"."""
    message = normalize(piece)
    reading = read(piece)
    asks = questions.topic(message)
    if _only_describes(message, read.context):
        return "slots"  # "my appointment on Tuesday, can we push it back an hour?": which one, then what
    if set(reading.intents) & {*TASK_INTENTS, "book", "another"}:
        return "request"
    if _DESCRIBES.search(message) or reading.reference:
        return "slots"  # "I booked a filling for the 9th, reference K7M2QX": the scene for what follows
    if (
        "hours" in reading.intents
        or asks in {"duration", "price", "offered"}
        or (asks == "question" and not reading.changes_search)
        or lexicon.mentions(message, terms)
    ):
        return "question"
    if reading.services or commands.declines(message):
        return "request"
    return "slots" if reading.understood else "none"


# ---- the acts of one request ----


def _acts_of(piece: str, read: _Memo, terms: tuple[lexicon.Term, ...], before: list[Act]) -> list[Act]:
    context = read.context
    message = normalize(piece)
    reading = read(piece)
    found = set(reading.intents)
    asks = questions.topic(message)
    acts: list[Act] = []

    def act(kind: str, confidence: float = STRONG, **more: object) -> None:
        acts.append(Act(kind, reading, confidence, said=piece, **more))  # type: ignore[arg-type]

    if "human" in found:
        act("human")
        return acts
    task = next((i for i in ("cancel", "reschedule", "lookup") if i in found), None)
    if task is not None and asks is not None and _HYPOTHETICAL.search(message):
        task = None  # "is there a charge if I have to cancel?": a question about the policy
    if task == "reschedule" and any(a.kind == "existing" and a.topic == "cancel" for a in before):
        act("book")  # "cancel it and rebook": a new booking
        return acts
    if task is not None:
        acts.append(_existing(piece, message, reading, read, EXISTING_TOPICS[task]))
        return acts
    if "waitlist" in found:
        act("waitlist")
        return acts
    if "hours" in found and (asks is not None or not reading.services):
        act("answer", topic="hours", subject=message)
        if reading.services or ("book" in found and not reading.days):
            act("book")
        return acts
    mentioned = lexicon.mentions(message, terms)
    names = [n.lower() for s in context.services for n in (*s.names, s.description)]
    missing = [m for m in mentioned if not lexicon.offered(m.term, names)]
    if asks == "duration":
        act("answer", topic="duration", subject=message)
        return acts
    if missing:
        spans = [(m.start, m.end) for m in missing]
        rest = read(blank(message, spans))
        for mention in missing:
            acts.append(Act("not_offered", rest, subject=mention.term.name, topic="lexicon", said=piece))
        if rest.services or (rest.says_when and not reading.services):
            acts.append(Act("book", rest, MEDIUM, said=piece))
        return acts
    if asks == "price":
        act("answer", topic="price", subject=message)
        return acts
    if reading.relative is not None and booked.descriptions(
        message, [n for s in context.services for n in s.names]
    ):
        acts.append(_existing(piece, message, reading, read, "move"))  # "make my check-up an hour later"
        return acts
    if asks == "offered" and reading.services and not reading.says_when:
        act("answer", topic="offered", subject=message)
        return acts
    unknown = questions.asked_for(message) if not reading.services else None
    if unknown is not None and not reading.says_when:
        act("not_offered", subject=unknown, topic="unknown", confidence=MEDIUM)
        return acts
    if asks == "question" and not _fills_something(reading, found):
        act("answer", topic="question", subject=message)
        return acts
    ending = commands.declines(message)
    if ending is not None and not found & {"book", "another"}:
        rest = read(blank(message, [ending]))  # "I'll call back later": "later" is the ending
        if not rest.changes_search:
            act("decline")
            return acts
    if commands.keeps(message) and not reading.changes_search:
        act("decline", topic="keep")
        return acts
    if reading.relative is not None and not reading.services and "another" not in found:
        acts.append(_frame(piece, message, reading))  # "could I come a day earlier?": relative to what?
        return acts
    earliest = _EARLIEST.search(message) is not None
    if earliest:
        reading = replace(reading, first_free=True)
    if found & {"book", "another"}:
        acts.append(Act("book", reading, STRONG, topic="another" if "another" in found else None, said=piece))
        return acts
    if reading.understood and (reading.changes_search or not found & {"greeting", "thanks", "bye"}):
        acts.append(_frame(piece, message, reading))
        return acts
    for kind, intent in (("bye", "bye"), ("thanks", "thanks"), ("greet", "greeting")):
        if intent in found:
            act(kind)
            return acts
    acts.append(Act("frame", reading, WEAK, said=piece))
    return acts


def _only_describes(message: str, context: Context) -> bool:
    """Whether a piece is nothing but the description of a booking ("my cleaning on Thursday")."""
    spans = booked.descriptions(message, [n for s in context.services for n in s.names])
    rest = blank(message, spans)
    return bool(spans) and not re.search(
        r"[a-z]{3,}", re.sub(r"\b(?:so|and|um|hi|hey|ok|well|re)\b", " ", rest)
    )


def _fills_something(reading: Reading, intents: set[str]) -> bool:
    """Whether a question also fills the frame ("what about the 12th?") or answers one asked."""
    return bool(
        reading.changes_search
        or reading.options
        or intents & {"book", "another"}
        or reading.yes
        or reading.no
        or reading.name
        or reading.phone
        or reading.email
        or reading.reference
    )


def _frame(piece: str, message: str, reading: Reading) -> Act:
    """Slots only. When they say when and lean on something already booked ("can I do Friday at 3
    instead?", "could it be an hour later?"), moving that booking is the close second reading."""
    move = Act("existing", reading, WEAK, topic="move", said=piece, hint=Reading(text=""))
    if reading.says_when and not reading.services and (_INSTEAD.search(message) or _MAKE_IT.search(message)):
        return Act("frame", reading, MEDIUM, said=piece, alternative=replace(move, confidence=MEDIUM))
    if reading.relative is not None and not reading.services:
        return Act("frame", reading, MEDIUM, said=piece, alternative=replace(move, confidence=MEDIUM))
    if reading.says_when and not reading.services:
        return Act("frame", reading, MEDIUM, said=piece, alternative=move)
    return Act("frame", reading, STRONG, said=piece)


def _existing(piece: str, message: str, reading: Reading, read: _Memo, topic: str) -> Act:
    """A booking the patient has: the words that describe it pick which; for a move, the rest say
    where it goes."""
    words = [n for s in read.context.services for n in s.names]
    spans = booked.descriptions(message, words)
    described = " ".join(message[s:e] for s, e in spans)
    hint = read(described) if described else Reading(text="")
    if topic != "move":
        hint = replace(hint, days=hint.days or reading.days, services=hint.services or reading.services)
        return Act("existing", reading, STRONG, topic=topic, said=piece, hint=hint)
    target = read(blank(message, spans)) if spans else reading
    moved = replace(
        reading,
        text=target.text,
        services=(),
        days=target.days,
        time=target.time,
        relative=target.relative,
        shift=target.shift,
    )
    hint = replace(hint, services=hint.services or reading.services)
    return Act("existing", moved, STRONG, topic=topic, said=piece, hint=hint)


def _inherit(acts: list[Act]) -> list[Act]:
    """What one request leaves for the next: the service a question named ("do you do whitening? if
    so book me in Friday"), the day of an hours question ("what time do you open Friday, and can I
    come that morning"); and a question about "it" takes the service of the request next to it."""
    out: list[Act] = []
    for index, act in enumerate(acts):
        reading = act.reading
        previous = out[-1] if out else None
        if act.kind in {"book", "frame"} and previous is not None and previous.kind == "answer":
            if not reading.services and previous.reading.services:
                reading = replace(reading, services=previous.reading.services)
            if reading.days is None and previous.reading.days is not None:
                reading = replace(reading, days=previous.reading.days)
        if act.kind == "answer" and act.topic == "duration" and not reading.services:
            near = [
                a for a in (previous, *acts[index + 1 : index + 2]) if a is not None and a.reading.services
            ]
            if near:
                reading = replace(reading, services=near[0].reading.services)
        out.append(replace(act, reading=reading) if reading is not act.reading else act)
    return out
