"""Who the patient is and which booking they mean: e-mail, phone, booking reference, name."""

from __future__ import annotations

import re

from agent.understanding.dates import MONTHS, WEEKDAYS
from agent.understanding.text import words_before

# Both patterns are linear in the message: an address starts only where a run of its characters
# starts (not at every character of the run), and a number has at most 24 characters between its
# first and last digit, so no start position scans the rest of a long message.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w(/:])(\+?\(?\d[\d\s().-]{6,24}\d)(?![\w/:])")
_DATE_LIKE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_REFERENCE = re.compile(r"\b([A-HJKMNP-Z2-9]{6})\b")
_STRONG_LEADS = r"my name is|my name'?s|name is|name'?s|the name is|under the name(?: of)?|call me|under"
_WEAK_LEADS = r"i am|i'm|im|this is|it's|it is"
_NAME_LEAD = re.compile(
    rf"\b(?P<lead>{_STRONG_LEADS}|{_WEAK_LEADS})\s+"
    r"(?P<name>[A-Za-z][A-Za-z'\-]*(?:\s+[A-Za-z][A-Za-z'\-]*){0,3})",
    re.IGNORECASE,
)
_NAME_HERE = re.compile(r"^\s*([A-Za-z][A-Za-z'\-]+(?:\s+[A-Za-z][A-Za-z'\-]+)?)\s+here\b", re.IGNORECASE)
# Words that end a name ("Jane Doe and my number is ...").
_NAME_STOPS = frozenset(
    "and my phone email e-mail number mobile cell is at on for please thanks thank you i im i'm "
    "with from by to the a an this that tomorrow today".split()
)
# Words that follow "I'm" / "it's" but are not names.
_NOT_NAMES = frozenset(
    """looking trying wondering calling here available free good fine not sure interested hoping after busy
    sorry new a an the in at on for about my just also still really so very quite only planning thinking
    having feeling with booked scheduled due ok okay great afraid unable able back late early running stuck
    pregnant allergic diabetic asking checking writing texting going coming hurting bleeding worried
    concerned getting needing wanting happy glad calling me it that this there what when who how
    actually probably currently already definitely kind out away home off up down over around ready done
    flexible open hoping sick ill unwell travelling traveling visiting moving new returning existing
    patient customer client mom mum dad mother father wife husband son daughter urgent important serious
    quick bad terrible awful painful sore swollen broken cracked chipped loose emergency regarding
    re calling cheers thanks thank bye goodbye please yes no yep nope sorry tomorrow today tonight
    morning afternoon evening noon midnight weekend week""".split()
)
_NOT_NAMES = _NOT_NAMES | set(WEEKDAYS) | set(MONTHS)
# "Call me" introduces a name ("call me Jo") or asks for a call ("call me back", "call me at 5").
_CALL_ME_NOT_NAMES = _NOT_NAMES | frozenset(
    "back later asap soon now tonight anytime whenever again first today tomorrow please when if "
    "before after around between".split()
)


def find_email(text: str) -> str | None:
    match = _EMAIL.search(text)
    return match.group(0).lower() if match else None


def find_phone(text: str) -> str | None:
    for match in _PHONE.finditer(_EMAIL.sub(" ", text)):
        candidate = match.group(1).strip()
        if _DATE_LIKE.fullmatch(candidate):
            continue
        digits = re.sub(r"\D", "", candidate)
        if 7 <= len(digits) <= 15:
            return candidate
    return None


def find_reference(text: str, *, expecting: bool = False) -> str | None:
    """A booking reference: six characters of the unambiguous alphabet (no 0/O/1/I/L).

    A token counts when it has a digit, is written in capitals, follows "reference", "ref", "code"
    or "booking", or when we just asked for the reference; so "thanks" is not read as one.
    """
    for match in re.finditer(r"\b([A-Za-z2-9]{6})\b", text):
        token = match.group(1)
        candidate = token.upper()
        if not _REFERENCE.fullmatch(candidate) or candidate.isdigit():
            continue
        introduced = re.search(
            r"\b(reference|ref|code|booking|number)( is| was|:)?\s*$", words_before(text, match.start()), re.I
        )
        if expecting or introduced or token.isupper() or any(ch.isdigit() for ch in token):
            return candidate
    return None


def find_name(text: str, *, expecting_name: bool, says_something_else: bool = False) -> str | None:
    """A person's name, said outright ("I'm Jane Doe", "Jane here") or as the whole answer when we
    asked for it (and the answer is not something else: a time, a yes, an intent)."""
    match = _NAME_LEAD.search(text)
    if match:
        words = _until_stop(_without_fillers(match.group("name").split()))
        lead = match.group("lead").lower()
        strong = not re.fullmatch(_WEAK_LEADS, lead)
        not_names = _CALL_ME_NOT_NAMES if lead == "call me" else _NOT_NAMES
        if words and ((strong and lead != "call me") or words[0].lower() not in not_names):
            return _title(words)
    here = _NAME_HERE.match(text)
    if here and here.group(1).split()[0].lower() not in _NOT_NAMES:
        return _title(here.group(1).split())
    if expecting_name and not says_something_else:
        candidate = _EMAIL.sub(" ", text)
        candidate = _PHONE.sub(" ", candidate)
        candidate = re.sub(r"[,;]+", " ", candidate).strip(" .!")
        words = candidate.split()
        plausible = 1 <= len(words) <= 4 and all(re.fullmatch(r"[A-Za-z][A-Za-z'\-.]*", w) for w in words)
        if plausible and words[0].lower() not in _NOT_NAMES:
            return _title(words)
    return None


_FILLERS = frozenset({"actually", "really", "just", "now", "in", "fact", "then", "simply"})


def _without_fillers(words: list[str]) -> list[str]:
    """ "my name is actually Janet Doe": the words that fill the gap before a name are not it."""
    while words and words[0].lower() in _FILLERS:
        words = words[1:]
    return words


def _until_stop(words: list[str]) -> list[str]:
    kept = []
    for word in words:
        if word.lower() in _NAME_STOPS:
            break
        kept.append(word)
    return kept[:4]


def _title(words: list[str]) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in words)


def strip_contact(text: str) -> str:
    """The message without e-mail addresses and phone numbers, for the readers of days and times."""
    text = _EMAIL.sub(lambda m: " " * len(m.group(0)), text)
    return _PHONE.sub(
        lambda m: m.group(0) if _DATE_LIKE.fullmatch(m.group(1).strip()) else " " * len(m.group(0)), text
    )
