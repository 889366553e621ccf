"""Who a phrasing is about, and how people really type it: the persons and the perturbations the
corpus generator combines with every template.

A template says `{N}` for the first mention of the person ("I", "my dad", "the baby"), `{P}` for a
later one ("I", "he", "she"), `{Pis}` ("I'm", "he's"), `{Nis}` ("I'm", "my dad is"), `{poss}`, `{obj}`,
`{s}` for a verb's ending ("feel{s}"), `{have}`, `{dont}`, `{isnt}`.
"""

from __future__ import annotations

import random
import re

FIRST = {
    "N": "I", "P": "I", "Pis": "I'm", "Nis": "I'm", "poss": "my", "obj": "me", "s": "",
    "have": "have", "dont": "don't", "isnt": "I'm not", "Pwas": "I was",
}  # fmt: skip
ADULTS = [
    ("my dad", "he"), ("my husband", "he"), ("my wife", "she"), ("my mum", "she"), ("my mom", "she"),
    ("my grandma", "she"), ("my grandad", "he"), ("my boyfriend", "he"), ("my girlfriend", "she"),
    ("my friend", "he"), ("my brother", "he"), ("my sister", "she"), ("my neighbour", "he"),
    ("my coworker", "she"), ("this guy at work", "he"), ("my partner", "she"), ("my roommate", "he"),
    ("my aunt", "she"), ("my uncle", "he"), ("my father in law", "he"), ("my nan", "she"), ("he", "he"),
    ("she", "she"), ("my elderly mother", "she"), ("my patient", "he"),
]  # fmt: skip
CHILDREN = [
    ("my baby", "he"), ("the baby", "she"), ("my son", "he"), ("my daughter", "she"), ("my toddler", "he"),
    ("my 2 year old", "she"), ("my little boy", "he"), ("my little girl", "she"), ("my newborn", "he"),
    ("my 8 month old", "she"), ("our baby", "he"), ("my 3yo", "he"), ("my kid", "she"),
]  # fmt: skip


def third(noun: str, pronoun: str, rng: random.Random) -> dict[str, str]:
    poss, obj = ("his", "him") if pronoun == "he" else ("her", "her")
    noun_is = f"{noun}'s" if rng.random() < 0.4 and noun not in {"he", "she"} else f"{noun} is"
    if noun in {"he", "she"}:
        noun_is = f"{noun}'s" if rng.random() < 0.5 else f"{noun} is"
    return {
        "N": noun, "P": pronoun, "Pis": f"{pronoun}'s", "Nis": noun_is, "poss": poss, "obj": obj, "s": "s",
        "have": "has", "dont": "doesn't", "isnt": f"{pronoun} isn't", "Pwas": f"{pronoun} was",
    }  # fmt: skip


def person(kind: str, rng: random.Random) -> dict[str, str]:
    """kind: "any" (first or third person, adult), "other" (third person adult), "self", "child"."""
    if kind == "self" or (kind == "any" and rng.random() < 0.4):
        return FIRST
    pool = CHILDREN if kind == "child" else ADULTS
    return third(*rng.choice(pool), rng)


# Misspellings people really make in these words; any other word may get a slip of the finger.
MISSPELLINGS = {
    "seizure": "siezure", "unconscious": "unconcious", "breathe": "breath", "breathing": "breathin",
    "ambulance": "ambulence", "swollen": "swolen", "bleeding": "bleading", "collapsed": "colapsed",
    "emergency": "emergancy", "allergic": "alergic", "stomach": "stomache", "shaking": "shakin",
    "responding": "respondin", "throat": "throut", "tongue": "tounge", "dizzy": "dizy",
    "faint": "feint", "conscious": "concious", "extraction": "extration", "wisdom": "wisdon",
    "tooth": "tooh", "swelling": "sweling", "vomiting": "vomitting", "really": "realy",
    "because": "becuase", "definitely": "definately", "stopped": "stoped", "choking": "chocking",
}  # fmt: skip
ABBREVIATIONS = [
    (r"\byou\b", "u"), (r"\byour\b", "ur"), (r"\bplease\b", "pls"), (r"\bbecause\b", "cuz"),
    (r"\bright now\b", "rn"), (r"\bwith\b", "w"), (r"\bgoing to\b", "gonna"), (r"\bdon't know\b", "dunno"),
    (r"\bI don't know\b", "idk"), (r"\bare\b", "r"), (r"\band\b", "n"), (r"\bminutes\b", "mins"),
    (r"\bthough\b", "tho"), (r"\bsomething\b", "smth"), (r"\bpeople\b", "ppl"), (r"\bthrough\b", "thru"),
]  # fmt: skip
OPENERS = [
    "",
    "",
    "",
    "help ",
    "omg ",
    "hi, ",
    "hello ",
    "urgent: ",
    "please help, ",
    "sorry to bother you but ",
]
CLOSERS = ["", "", "", " what do i do", " pls help", "!!", "!!!", " ??", " what should we do", " help"]


def slip(word: str, rng: random.Random) -> str:
    """One slip of the finger inside a word: two letters swapped, one dropped or one doubled."""
    i = rng.randrange(1, len(word) - 2)
    how = rng.randrange(3)
    if how == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def perturb(text: str, rng: random.Random) -> str:
    """How people type on a phone: typos, texting abbreviations, no apostrophes or capitals, noise."""
    if rng.random() < 0.3:
        for pattern, short in rng.sample(ABBREVIATIONS, 4):
            text = re.sub(pattern, short, text, flags=re.IGNORECASE)
    if rng.random() < 0.35:
        words = text.split(" ")
        known = [i for i, w in enumerate(words) if w.lower() in MISSPELLINGS]
        if known and rng.random() < 0.6:
            i = rng.choice(known)
            words[i] = MISSPELLINGS[words[i].lower()]
        else:
            long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
            if long:
                i = rng.choice(long)
                words[i] = slip(words[i], rng)
        text = " ".join(words)
    if rng.random() < 0.3:
        text = text.replace("'", "")
    if rng.random() < 0.25:
        text = rng.choice(OPENERS) + text + rng.choice(CLOSERS)
    roll = rng.random()
    if roll < 0.4:
        text = text.lower()
    elif roll < 0.44:
        text = text.upper()
    if rng.random() < 0.3:
        text = text.rstrip(".")
    return text
