"""Emergency triage: runs on every patient message before anything else.

A hard-trigger pattern pass, deliberately conservative: a false alarm costs one safety message, a
miss can cost a life. Each category needs its own combination of words, so that everyday messages
that merely share a word ("my chest x-ray results", "this toothache is killing me") stay ordinary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERNS: dict[str, tuple[str, ...]] = {
    "chest_pain_breathing": (
        # Needs both halves; see _CHEST / _BREATHING below.
        r"\bheart attack\b",
    ),
    "stroke": (
        r"\b(having|had|has|having had) (a |another )?stroke\b",
        r"\bsigns? of (a )?stroke\b",
        r"\bstroke (symptoms|signs)\b",
        r"\b(face|mouth|smile) (is |has )?(drooping|droopy|drooped|sagging)\b",
        r"\bslurr(ed|ing) (speech|words|her words|his words|my words)\b",
        r"\bspeech is slurred\b",
        r"\bcan'?t (move|feel|lift) (my|his|her|their|one) (arm|arms|leg|legs|side|face)\b",
        r"\b(sudden|suddenly) (numb|numbness|weakness|weak|confused|confusion|can'?t speak|can'?t see)\b",
    ),
    "severe_bleeding": (
        r"\b(heavy|severe|uncontrolled|uncontrollable|massive|serious) bleeding\b",
        r"\bbleeding (heavily|badly|profusely|a lot|everywhere|nonstop|non-stop)\b",
        r"\b(bleeding|blood|bleed)\b[^.!?]{0,40}\b(won'?t|will not|doesn'?t|does not|can'?t|cannot) stop\b",
        r"\b(blood is )?(spurting|gushing|pouring)\b",
        r"\blost a lot of blood\b",
    ),
    "anaphylaxis": (
        r"\banaphyla",
        r"\b(throat|tongue|lips?|face) (is |are |keeps )?(swelling|swollen|closing|closing up|tight)\b",
        r"\ballergic reaction\b[^.!?]{0,60}\b(breath|breathe|breathing|swell|swelling|throat|hives)\b",
        r"\b(need|used|use|using) (an |my )?epi-?pen\b",
    ),
    "overdose": (
        r"\boverdos",
        r"\btook (too many|too much|a bottle of|a handful of|all (of )?(my|the|his|her))\b",
        r"\b(swallowed|took|taken) (a |the )?(whole )?(bottle|pack|packet|handful|box) of\b",
    ),
    "self_harm": (
        r"\b(kill|hurt|harm|cut|cutting|hurting|killing) (myself|my self)\b",
        r"\bsuicid",
        r"\bend (my life|it all|my own life)\b",
        r"\btake my (own )?life\b",
        r"\b(want|wanna|going|ready) to die\b",
        r"\bdon'?t want to (live|be alive|be here anymore|wake up)\b",
        r"\bno (reason|point) (to|in) (live|living)\b",
        r"\bbetter off dead\b",
    ),
}

_CHEST = re.compile(
    r"\b(chest (pain|pains|hurts|hurting|is tight|tightness|pressure|is heavy)|pain in (my|his|her) chest)\b"
)
_BREATHING = re.compile(
    r"\b(can'?t|cannot|can not|hard to|trouble|difficulty|difficult to|struggling to|unable to) "
    r"(breathe|breathing|catch (my|his|her) breath)\b"
    r"|\b(short(ness)? of breath|out of breath|not breathing|gasping)\b"
)
_COMPILED = {category: [re.compile(p) for p in patterns] for category, patterns in _PATTERNS.items()}

EMERGENCY_NUMBERS = {
    "US": "911",
    "CA": "911",
    "MX": "911",
    "GB": "999",
    "IE": "112",
    "AU": "000",
    "NZ": "111",
}
DEFAULT_EMERGENCY_NUMBER = "112"
# Crisis lines for self-harm, where there is one national number.
CRISIS_LINES = {
    "US": "call or text 988",
    "CA": "call or text 988",
    "GB": "call 116 123 (Samaritans)",
    "AU": "call 13 11 14 (Lifeline)",
}


@dataclass(frozen=True)
class Triage:
    emergency: bool
    category: str | None = None


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip()


def assess(text: str) -> Triage:
    message = normalize(text)
    if _CHEST.search(message) and _BREATHING.search(message):
        return Triage(True, "chest_pain_breathing")
    for category, patterns in _COMPILED.items():
        if any(pattern.search(message) for pattern in patterns):
            return Triage(True, category)
    return Triage(False)


def safety_message(category: str, country: str) -> str:
    """The fixed reply for an emergency: where to get help now, and that this chat is not it."""
    number = EMERGENCY_NUMBERS.get(country, DEFAULT_EMERGENCY_NUMBER)
    message = (
        f"This sounds like it could be a medical emergency. Please call {number} (or your local "
        "emergency number) right now, or go to the nearest emergency department. "
        "This chat cannot help in an emergency and no one is monitoring it live."
    )
    if category == "self_harm":
        line = CRISIS_LINES.get(country)
        if line:
            message += f" You can also reach a crisis line right now, any time: {line}."
        message += " You are not alone."
    return message
