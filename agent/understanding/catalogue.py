"""Which service and which provider a message names: by name or alias, by a description ("teeth
cleaned", "a cavity", "my annual exam"), by a near spelling; a provider by any part of their name."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Named:
    id: str
    names: tuple[str, ...]  # the service's name and its aliases
    description: str = ""


@dataclass(frozen=True)
class Person:
    id: str
    name: str


# Words that say nothing about which service ("a dental appointment", "what about the 12th").
_GENERIC = frozenset(
    """a an the and or but if so with without for of to my me i im i'm in on at by from up out off over
    into about after before than then there here what when where which who why how your yours our we us
    you they them their he she him her his it its this that these those some any all each every other
    another new not no yes ok okay please thanks thank hi hello hey just also very really only still
    maybe perhaps sure well good great fine best better soon sooner later earlier early late next last
    first second third one two three time times day days week weeks month morning afternoon evening
    night today tomorrow tonight weekend am pm is are was were be been being do does did have has had
    will would shall should can could may might must get got make made take took give need needs want
    wants like would love book booked booking bookings appointment appointments visit visits service
    services session sessions dental tooth teeth mouth doctor dentist clinic office practice see come
    go going fit squeeze quick regular routine general standard basic full check something anything
    available availability free open slot slots option options""".split()
)
# Everyday words for the same treatment, applied to both the message and the catalogue.
_SYNONYMS = {
    "clean": ("hygiene", "hygienist", "polish", "scale", "scaling", "clean"),
    "exam": ("checkup", "check", "examination", "physical", "annual", "exam", "review"),
    "fill": ("cavity", "cavities", "filling", "hole"),
    "whiten": ("whitening", "bleach", "bleaching", "whiter"),
    "extract": ("extraction", "pull", "pulled", "removal"),
    "consult": ("consultation", "consult", "advice", "discuss"),
    "haircut": ("haircut", "trim", "cut"),
    "colour": ("color", "colour", "dye", "highlights", "tint"),
    "massage": ("massage", "rub"),
    "vaccine": ("vaccine", "vaccination", "shot", "jab", "flu"),
}
_CONCEPT = {word: concept for concept, words in _SYNONYMS.items() for word in words}
_TITLES = frozenset({"dr", "doctor", "rdh", "dds", "dmd", "md", "mr", "mrs", "ms", "miss", "nurse", "prof"})


def _stem(word: str) -> str:
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return _CONCEPT.get(word, word)


def _terms(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    stems = {_CONCEPT.get(w) or _stem(w) for w in words if w not in _GENERIC}
    return {s for s in stems if s not in _GENERIC and len(s) > 2}


def match_services(message: str, services: Sequence[Named]) -> list[str]:
    """The ids of the services the normalized message names, best first; several when it is unclear
    which (the caller asks); empty when it names none."""
    phrase = _by_phrase(message, services)
    if phrase is not None:
        return [phrase]
    said = _terms(message)
    if not said:
        return []
    scores: dict[str, int] = {}
    for service in services:
        # "Check-up" is also "checkup": joined names find their everyday synonyms too.
        named = set().union(*(_terms(n) | _terms(re.sub(r"[\s-]+", "", n)) for n in service.names))
        described = _terms(service.description) - named
        score = 2 * len(said & named) + len(said & described)
        if score:
            scores[service.id] = score
    if scores:
        best = max(scores.values())
        return [sid for sid, score in sorted(scores.items(), key=lambda kv: -kv[1]) if score == best]
    typo = _by_spelling(message, services)
    return [typo] if typo else []


def _by_phrase(message: str, services: Iterable[Named]) -> str | None:
    best: tuple[int, str] | None = None
    for service in services:
        for name in service.names:
            tokens = re.findall(r"[a-z0-9]+", name.lower())
            if not tokens:
                continue
            pattern = r"\b" + r"[\s-]*".join(re.escape(t) for t in tokens) + r"s?\b"
            if re.search(pattern, message):
                score = len(name)
                if best is None or score > best[0]:
                    best = (score, service.id)
    return best[1] if best else None


def _by_spelling(message: str, services: Iterable[Named]) -> str | None:
    """Typos: one word close to a one-word name ("chekup", "clening")."""
    singles = {name.lower(): service.id for service in services for name in service.names if " " not in name}
    for word in re.findall(r"[a-z]+", message):
        if len(word) >= 5 and word not in _GENERIC:
            close = difflib.get_close_matches(word, list(singles), n=1, cutoff=0.8)
            if close:
                return singles[close[0]]
    return None


def match_provider(message: str, providers: Sequence[Person]) -> str | None:
    """The provider a normalized message names ("Dr. Chen", "with Maya", "can Sam see me"), if exactly
    one matches."""
    matches = set()
    for person in providers:
        parts = [p for p in re.findall(r"[a-z]+", person.name.lower()) if p not in _TITLES and len(p) >= 3]
        if any(re.search(rf"\b{re.escape(part)}\b", message) for part in parts):
            matches.add(person.id)
    return matches.pop() if len(matches) == 1 else None


def any_provider(message: str) -> bool:
    """ "anyone is fine", "doesn't matter who": no preference of provider."""
    return bool(
        re.search(
            r"\b(any ?one|any ?body|any provider|any doctor|whoever|doesn'?t matter who|no preference|"
            r"whoever'?s (free|available))\b",
            message,
        )
    )
