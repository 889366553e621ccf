"""When a warning sign in a message is not happening now: negated ("no chest pain"), past history
("had a stroke last year"), another context ("a breathing test", "the warning signs leaflet",
"stuck in traffic"), or a figure of speech ("the bill nearly gave me a heart attack", "out of breath
from running here").

Each check looks only at the clause around the sign, so "I had a stroke last year and now my face is
drooping" keeps its second, current sign.
"""

from __future__ import annotations

import re

_CLAUSE_BREAK = re.compile(r"[.!?;,]|\b(?:and|but|so|because|though|although|however)\b")
_SENTENCE_END = re.compile(r"[.!?;]")
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|free of|none|nothing like|denies|deny|don'?t have|doesn'?t have|didn'?t have|"
    r"haven'?t (?:had|got|been)|hasn'?t (?:had|got|been)|isn'?t|aren'?t|wasn'?t|no longer|not having|"
    r"never had|nor)\b(?:\s+\S+){0,3}\s*$"
)
_HISTORY = re.compile(
    r"\b(?:last (?:year|month|spring|summer|winter|autumn|fall|decade)|"
    r"(?:\d+|a|one|two|three|four|five|six|few|several|couple of|many) (?:years?|months?|decades?) (?:ago"
    r"|back)|"
    r"years ago|ages ago|long time ago|in (?:19|20)\d\d|history of|in the past|previously|previous|used to|"
    r"as a (?:child|kid|teenager|baby)|when (?:i|he|she|they) (?:was|were) (?:young|little|a kid"
    r"|a child|younger"
    r"|small|a baby|a toddler|a teenager)"
    r"|survivor|"
    r"recovered|recovering|once when|had (?:one|it) once|(?:after|since|following) (?:my|his|her|their) "
    r"(?:stroke|heart attack|surgery|seizure|overdose|operation)|medication for|medicine for|meds for|"
    r"treated for|diagnosed with|epilep\w*|i'?m fine now|was fine|it'?s stopped|it stopped|stopped now|"
    r"was checked|got checked|been checked|nothing new|as usual|always|usually|for years|chronic"
    r"|normal for me|back then|ever since|since then|"
    r"last time|since (?:covid|my|\w+ (?:years?|months?)|(?:19|20)\d\d|last (?:year|month|time|spring|summer"
    r"|winter|autumn|fall))|(?:my|the) doctor knows|"
    r"well controlled|under control)\b"
)
_NOW = re.compile(
    r"\b(?:now|right now|currently|at the moment|again|still|just|this minute|another|today|tonight"
    r"|this morning|"
    r"minutes? ago|an hour ago|hours ago|started|i think|we think)\b"
)
# Long ago, said anywhere in the sentence: "he had a seizure last year, shaking all over" is history
# unless the sign's own clause says it is happening ("... and now he's shaking").
_LONG_AGO = re.compile(
    r"\b(?:last (?:year|month|spring|summer|winter|autumn|fall|decade)|(?:years?|months?|decades?|ages) ago"
    r"|in (?:19|20)\d\d|back then|at the time|as a (?:child|kid|teenager|baby)|when (?:i|he|she"
    r"|they) (?:was|were)"
    r" (?:young|little|a kid|a child|a baby|a toddler|a teenager))\b"
)
_PRESENT = re.compile(r"\b(?:is|are|am|keeps?|won'?t|can'?t|isn'?t|getting|started)\b|'(?:s|m|re)\b")
# A question about what would happen: "will the extraction bleed a lot?", "could it swell?".
_WHAT_IF = re.compile(
    r"\b(?:will|would|could|might|can|does|do) (?:i|it|he|she|they|you|we|the \w+|my \w+)\s+(?:\w+\s+)?$"
)
# "had a stroke", "had chest pain": in the past unless something says it is now.
_PAST_TENSE = re.compile(r"\b(?:had|have had|has had|'ve had)\s+(?:a |an |some |one )?$")
_OTHER_CONTEXT = re.compile(
    r"\b(?:test|tests|testing|x-?rays?|results?|scans?|leaflet|pamphlet|brochure|course|class|classes"
    r"|training|"
    r"certificate|forms?|insurance|information|info|video|article|what are the(?: warning)? signs"
    r"|warning signs|"
    r"what is an?|how (?:to|do you) (?:spot|recognise|recognize|tell)|risk of|prevent\w*|if swallowed|"
    r"in case of|what (?:should|do|would) (?:i|we|you) do if|what happens if|exercises?|"
    r"by the (?:anaesthetic|anesthetic|gas|sedation|sedative|meds|medication)|"
    # A hypothetical: "what do I do if someone collapses", "in case a patient faints".
    r"(?:if|in case|when|whether) (?:someone|somebody|anyone|a person|a patient|people|a child|a kid)|"
    # Asking what is normal, or what the numbing does, is not reporting an emergency.
    r"is (?:it|that|this) normal|normal (?:to|for)|(?:numb\w*|anaesthetic|anesthetic|injection) wearing off|"
    r"from the (?:numb\w*|anaesthetic|anesthetic|injection|local)|"
    # Fear of blood or needles is dental anxiety, not blood loss.
    r"(?:sight of|when (?:i|he|she|they) sees?|seeing|scared of|afraid of)\s+(?:blood|needles?|the needle))\b"
)
_FIGURES = re.compile(
    r"\b(?:gave|give|gives|giving|nearly had|almost had|going to have|gonna have|about to have|nearly gave|"
    r"almost gave)\s+(?:me |him |her |us )?an? (?:heart attack|stroke)\b"
    r"|\bheart attack (?:when|at|seeing|looking)\b|\bstroke of (?:luck|genius|the pen|midnight)\b"
    r"|\b(?:from|when) laughing\b|\bdied laughing\b|\blaughing so hard\b|\b(?:lol|lmao|haha\w*|jk"
    r"|just kidding)\b"
    r"|\btakes? (?:my|his|her) breath away\b"
    r"|\bchok(?:e|ed|es|ing) (?:up|back (?:the |my |his |her )?tears)\b|\bchoked with emotion\b"
    r"|\bbleed(?:ing)? (?:money|\w+ dry)\b|\b(?:bank account|wallet|budget) is bleeding\b"
    r"|\b(?:shak(?:ing|es|y)|trembl\w*) (?:with|from) (?:nerves|fear|excitement|anticipation|cold)\b"
    r"|\bheart (?:stopped|sank|skipped a beat|dropped) when\b"
)
# Habits are not emergencies: "won't wake up for school", "passed out on the sofa after a long shift".
_HABIT = re.compile(
    r"\b(?:wake|waking|get|getting) up (?:for (?:school|work|college|class)|in the mornings?|early|on time"
    r"|before (?:noon|\d+))\b|\bmornings\b|\bweekends\b|\bpassed out (?:on the (?:couch|sofa|bed)"
    r"|in front of the tv|asleep|after a long (?:day|shift|night))"
)
# "Stuck" on the way or somewhere: "stuck in traffic", "stuck at work", "stuck behind a bus", said
# with no word of a throat, food or breathing in the sentence (which "food stuck in his throat" has).
_STUCK = re.compile(r"stuck\b")
_ERRAND = re.compile(
    r"\b(?:traffic|jam|gridlock\w*|tailback|queue|roadworks|road|motorway|highway|freeway|interstate"
    r"|m\d+|a\d+|i-?\d+|bridge|tunnel|ring road|bypass|lights|junction|roundabout|detour|diversion|accident"
    r"|crash|breakdown|broken down|car|bus|train|tube|subway|metro|tram|ferry|taxi|uber|cab|flight|airport"
    r"|station|platform|car ?park|parking|garage|lift|elevator|meeting|work|office|shift|school|nursery"
    r"|pick-?up|school run|home|behind|late|running late|delay\w*|on (?:my|the) way|omw|eta"
    r"|(?:be|get) there|min(?:ute)?s?|mins|hour|snow|ice|rain|flood\w*)\b"
)
_AIRWAY = re.compile(
    r"\b(?:throat|windpipe|airway|chest|swallow\w*|breath\w*|cough\w*|gag\w*|chok\w*|food|bone|coin"
    r"|toy|sweet|candy|grape|nut|piece|lodged|mouth|tongue|neck|blue|gasp\w*|wheez\w*|sound|noise"
    r"|can'?t (?:speak|talk))\b"
)
# Cold symptoms are not breathing trouble: "stuffy nose, can't breathe through it", "a bit wheezy".
_NASAL = re.compile(
    r"\b(?:nose|nostrils?|stuffy|blocked|bunged|congest\w*|sinus\w*|snott?y|sniffl\w*|runny|through it)\b"
)
_MILD = re.compile(
    r"\b(?:a bit|a little|slightly|bit of|little bit|kinda|a tad) (?:wheez\w*|breathless|chesty"
    r"|short of breath|out of breath)\b"
)
_MILD_AIRWAY = re.compile(r"breath|air|wheez|chesty")
# Breathless from exertion is ordinary; only the mild forms of breathlessness are taken back by it.
_MILD_BREATHLESS = re.compile(r"out of breath|short of breath|breathless")
_EXERTION = re.compile(
    r"\b(?:ran|run|running|rushed|rushing|jog\w*|climb\w*|stairs|gym|workout|exercis\w*"
    r"|hurried|sprint\w*|cycl\w*)\b"
)


# The clause and sentence around a sign are read within a bounded window: a message of many signs
# must cost each sign the same, not a scan of the whole message (which made long input quadratic).
WINDOW_CHARS = 200


def clause(message: str, start: int, end: int) -> tuple[str, str]:
    """The words before and after message[start:end] in its clause."""
    left_edge = max(0, start - WINDOW_CHARS)
    breaks_before = [m.end() for m in _CLAUSE_BREAK.finditer(message, left_edge, start)]
    left = breaks_before[-1] if breaks_before else left_edge
    following = _CLAUSE_BREAK.search(message, end, end + WINDOW_CHARS)
    right = following.start() if following else min(len(message), end + WINDOW_CHARS)
    return message[left:start], message[end:right]


def sentence(message: str, start: int, end: int) -> str:
    left_edge = max(0, start - WINDOW_CHARS)
    stops = [m.end() for m in _SENTENCE_END.finditer(message, left_edge, start)]
    left = stops[-1] if stops else left_edge
    following = _SENTENCE_END.search(message, end, end + WINDOW_CHARS)
    right = following.start() if following else min(len(message), end + WINDOW_CHARS)
    return message[left:right]


def discounted(message: str, start: int, end: int) -> str | None:
    """Why the sign at message[start:end] is not an emergency now, or None when it may be."""
    before, after = clause(message, start, end)
    around = f"{before} {message[start:end]} {after}"
    if _NEGATION.search(before):
        return "negation"
    if _WHAT_IF.search(before):
        return "other_context"
    said = sentence(message, start, end)
    if _FIGURES.search(said) or (_MILD_BREATHLESS.search(message[start:end]) and _EXERTION.search(said)):
        return "figure_of_speech"
    if _OTHER_CONTEXT.search(around):
        return "other_context"
    if _STUCK.match(message, start) and _ERRAND.search(said) and not _AIRWAY.search(said):
        return "other_context"
    if _HABIT.search(said):
        return "habit"
    sign = message[start:end]
    if _MILD_AIRWAY.search(sign) and (_NASAL.search(f"{before} {sign} {after}") or _MILD.search(said)):
        return "cold_symptoms"
    current = _NOW.search(around)
    if _HISTORY.search(around) and not current:
        return "history"
    if _LONG_AGO.search(said) and not current and not _PRESENT.search(around):
        return "history"
    if (_PAST_TENSE.search(before) or re.match(r"(?:had|has had)\b", message[start:end])) and not current:
        return "history"
    return None
