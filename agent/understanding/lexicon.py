"""Services a practice of each kind may or may not offer, under their everyday names: so "do you do
implants?" at a clinic without implants is answered "we don't do implants here" by name, instead of
being taken for a service it does offer or asked about again.

Each entry is the name said back, the words that name it, and what may stand in for it at a clinic
that does not offer it: an assessment ("exam": a check-up or consultation where the dentist or
doctor can look at it) and related catalogue concepts (a deep clean is near a cleaning).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Term:
    name: str  # as it is said back: "implants", "root canal treatment"
    pattern: str
    assess: bool = True  # a check-up / consultation can look at it
    related: tuple[str, ...] = ()  # words of catalogue services that match it in part


DENTAL = (
    Term("wisdom teeth removal", r"wisdom (?:teeth|tooth)"),
    Term("implants", r"(?:dental )?implants?"),
    Term("root canal treatment", r"root canals?|endodontic\w*|root treatments?"),
    Term("Invisalign", r"invisalign|clear aligners?|aligners?"),
    Term("braces", r"braces"),
    Term("orthodontic treatment", r"orthodontic\w*|orthodontist|orthodontics|(?:teeth|tooth) straighten\w*"),
    Term("veneers", r"veneers?"),
    Term("crowns", r"crowns?"),
    Term("bridges", r"(?:dental )?bridges?|bridgework"),
    Term("dentures", r"dentures?|false teeth"),
    Term("gum treatment", r"gum (?:treatment|disease|surgery|grafts?|therapy)|periodont\w*|gingivitis"),
    Term("deep cleaning", r"deep[\s-]?clean(?:ing|s)?|scaling and root planing", related=("clean", "hygien")),
    Term("sedation", r"sedation|sedated|laughing gas|nitrous(?: oxide)?|put (?:me )?to sleep"),
    Term("whitening", r"whiten\w*|bleach(?:ing)?"),
    Term(
        "extractions",
        r"extractions?|(?:tooth|teeth) (?:pulled|out|removed|extracted)|pull (?:a|my|the) tooth",
    ),
    Term("mouthguards", r"(?:mouth|night|sports?|gum) ?guards?|(?:dental )?splints?"),
    Term("x-rays", r"x-?rays?|xrays?|radiographs?"),
    Term("dental bonding", r"(?:tooth|teeth|dental|composite) bonding"),
)
MEDICAL = (
    Term("physiotherapy", r"physio\w*|physical therap\w*"),
    Term("MRI scans", r"mri(?: scans?)?|ct scans?|cat scans?"),
    Term("x-rays", r"x-?rays?|xrays?"),
    Term("ultrasound scans", r"ultrasounds?|sonograms?"),
    Term("dermatology", r"dermatolog\w*|skin specialists?"),
    Term("counselling", r"counsell?ing|psycholog\w*|psychiatr\w*|psychotherap\w*"),
    Term("acupuncture", r"acupuncture"),
    Term("chiropractic care", r"chiropract\w*"),
    Term("allergy testing", r"allergy test\w*"),
    Term("ear wax removal", r"ear ?wax|ear syringing|ear irrigation|wax removal"),
    Term("eye tests", r"eye (?:tests?|exams?)|optician"),
    Term("hypnotherapy", r"hypno\w*"),
    Term("Botox and fillers", r"botox|(?:dermal |lip )?fillers"),
)
SALON = (
    Term("nails", r"nails?|manicures?|pedicures?|gel polish|acrylics", assess=False),
    Term("eyelash extensions", r"(?:eye)?lash(?:es)?(?: extensions?| lifts?)?", assess=False),
    Term("brows", r"eyebrows?|brows?|threading|brow tint\w*", assess=False),
    Term("waxing", r"waxing|bikini wax|leg wax|body wax", assess=False),
    Term("facials", r"facials?", assess=False),
    Term("spray tans", r"spray ?tans?|tanning", assess=False),
    Term("perms", r"perms?|perming", assess=False),
    Term("hair extensions", r"(?:hair )?extensions", assess=False),
    Term("make-up", r"make-?up", assess=False),
    Term("massages", r"massages?", assess=False),
    Term(
        "keratin treatments", r"keratin(?: treatments?)?|brazilian blow-?dry", related=("blow",), assess=False
    ),
    Term("braids", r"braids?|braiding|cornrows", assess=False),
    Term("barbering", r"beard trims?|shaves?|shaving", related=("cut", "trim"), assess=False),
)
_DENTAL_WORDS = re.compile(r"\b(?:dental|dentist|teeth|tooth|hygien\w*|filling|gum|orthodont\w*)")
_SALON_WORDS = re.compile(r"\b(?:hair|cut|colou?r|blow|styl\w*|trim|salon|highlights)")


def terms_for(profile: str, catalogue_words: str) -> tuple[Term, ...]:
    """The lexicon of this practice's kind: a salon's, a dental clinic's or a doctor's practice's
    (told apart by the catalogue's words); a practice of another kind gets them all."""
    if profile == "salon":
        return SALON
    if profile == "healthcare":
        return DENTAL + MEDICAL if _DENTAL_WORDS.search(catalogue_words) else MEDICAL
    if _SALON_WORDS.search(catalogue_words):
        return SALON
    return DENTAL + MEDICAL + SALON


@lru_cache(maxsize=64)
def _compiled(terms: tuple[Term, ...]) -> tuple[tuple[Term, re.Pattern[str]], ...]:
    return tuple((t, re.compile(rf"(?<![\w-])(?:{t.pattern})(?![\w-])")) for t in terms)


@dataclass(frozen=True)
class Mention:
    term: Term
    start: int
    end: int


def mentions(message: str, terms: Sequence[Term]) -> list[Mention]:
    """The lexicon's services a normalized message names, in order, without overlaps."""
    found: list[Mention] = []
    for term, pattern in _compiled(tuple(terms)):
        for match in pattern.finditer(message):
            if not any(match.start() < m.end and m.start < match.end() for m in found):
                found.append(Mention(term, match.start(), match.end()))
    return sorted(found, key=lambda m: m.start)


def named(name: str) -> Term | None:
    """The term said back as `name`."""
    return next((t for t in (*DENTAL, *MEDICAL, *SALON) if t.name == name), None)


def offered(term: Term, names: Iterable[str]) -> bool:
    """Whether one of the catalogue's names (names, aliases, descriptions) is this term."""
    pattern = _compiled((term,))[0][1]
    return any(pattern.search(name.lower()) for name in names)
