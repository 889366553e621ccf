"""A booking reference spelled out, as callers say it and speech engines write it down: "C W D B V 9",
"Charlie Whiskey Delta Bravo Victor nine", "see double you dee bee vee nine", "K. 7. M. 2. Q. X.".

Each word is one character (a letter, a digit, a NATO word, a letter's name, a digit's name) or
"double" before one ("double five" is 55, but "double you" is W). Six characters in a row, all of
the reference alphabet, are a reference when the words are mostly plain letters or NATO words (a
sentence of "you", "are", "see" is not one), or when a reference was asked for or named.
"""

from __future__ import annotations

import re

REFERENCE_LENGTH = 6
_ALPHABET = frozenset("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
_NATO = {
    "alpha": "A", "alfa": "A", "bravo": "B", "charlie": "C", "delta": "D", "echo": "E", "foxtrot": "F",
    "golf": "G", "hotel": "H", "india": "I", "juliet": "J", "juliett": "J", "kilo": "K", "lima": "L",
    "mike": "M", "november": "N", "oscar": "O", "papa": "P", "quebec": "Q", "romeo": "R", "sierra": "S",
    "tango": "T", "uniform": "U", "victor": "V", "whiskey": "W", "whisky": "W", "xray": "X", "x-ray": "X",
    "yankee": "Y", "zulu": "Z",
}  # fmt: skip
# Letters' and digits' names as a speech engine writes them.
_NAMES = {
    "bee": "B", "be": "B", "see": "C", "sea": "C", "cee": "C", "dee": "D", "ee": "E", "eff": "F", "ef": "F",
    "gee": "G", "jee": "G", "aitch": "H", "haitch": "H", "jay": "J", "kay": "K", "ell": "L", "el": "L",
    "em": "M", "en": "N", "pee": "P", "cue": "Q", "queue": "Q", "are": "R", "ar": "R", "ess": "S",
    "es": "S", "tee": "T", "tea": "T", "you": "U", "yu": "U", "vee": "V", "ex": "X", "why": "Y", "wye": "Y",
    "zed": "Z", "zee": "Z", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9",
}  # fmt: skip
# Names that are also everyday words: spelling only among plainer signs of it.
_EVERYDAY = frozenset(
    {"be", "see", "sea", "are", "ar", "you", "why", "tea", "ex", "es", "el", "en", "em", "queue"}
)
# normalize() writes a spoken "p m" / "a m" as the time marker: inside a spelled run it is two letters.
_MARKERS = {"am": "AM", "pm": "PM"}
_INTRODUCED = re.compile(r"\b(?:reference|ref|code|booking number|confirmation)\b")
_WORD = re.compile(r"[a-z0-9']+(?:-[a-z]+)?")


def spelled_reference(message: str, *, expecting: bool = False) -> tuple[str, tuple[int, int]] | None:
    """The reference spelled in the normalized `message`, and where it is; None when there is none."""
    words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(message)]
    run: list[tuple[str, bool, int, int]] = []  # (characters, plainly spelled, start, end)
    for index, (word, start, end) in enumerate(words):
        if word == "double" and index + 1 < len(words):
            continue  # read with the next word
        after_double = index > 0 and words[index - 1][0] == "double"
        doubled = after_double and word != "you"
        said = _character(word, after_double=after_double)
        following = words[index + 1][0] if index + 1 < len(words) else ""
        beside_run = bool(run) or _character(following, after_double=False) is not None
        if said is None and word in _MARKERS and beside_run:
            said = _MARKERS[word]
        if said is None:
            found = _reference_in(run, message, expecting)
            if found:
                return found
            run = []
            continue
        first = words[index - 1][1] if after_double else start
        plain = (word not in _EVERYDAY and word not in _MARKERS) or after_double
        run.append((said * 2 if doubled else said, plain, first, end))
    return _reference_in(run, message, expecting)


def _character(word: str, *, after_double: bool) -> str | None:
    if word == "you" and after_double:
        return "W"  # "double you"
    if len(word) == 1:
        return word.upper()
    return _NATO.get(word) or _NAMES.get(word)


def _reference_in(
    run: list[tuple[str, bool, int, int]], message: str, expecting: bool
) -> tuple[str, tuple[int, int]] | None:
    """The run, when it spells exactly six characters that read as a reference (seven letters in a
    row are someone spelling something else)."""
    spelled = "".join(said for said, *_ in run)
    if len(spelled) != REFERENCE_LENGTH or not _plausible(run, spelled, message, expecting):
        return None
    return spelled, (run[0][2], run[-1][3])


def _plausible(words: list[tuple[str, bool, int, int]], spelled: str, message: str, expecting: bool) -> bool:
    if not set(spelled) <= _ALPHABET or spelled.isdigit():
        return False
    plain = sum(1 for word in words if word[1])
    return expecting or bool(_INTRODUCED.search(message)) or plain * 2 >= len(words)
