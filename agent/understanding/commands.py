"""Words that steer the conversation rather than fill it: the commands that mean one thing in every
state ("start over", "help", "menu"), ending politely ("I'll sort it another time", "I need to ask
my partner first", "never mind"), keeping a booking at a cancel question ("actually leave it as it
is"), and messages that cannot be read (another language, emoji only, words without spaces)."""

from __future__ import annotations

import re

_LEAD = (
    r"^(?:(?:ok(?:ay)?|um+|uh+|hmm+|actually|sorry|please|can we|could we|let'?s|i want to"
    r"|i'?d like to)[,\s]+)*"
)
_COMMANDS = (
    (
        "restart",
        rf"{_LEAD}(?:start (?:over|again|afresh)|restart|reset|begin again|from the (?:top|beginning|start)"
        r"|new conversation)\b(?: please)?\W*$",
    ),
    (
        "help",
        rf"{_LEAD}(?:help(?: me)?|i need (?:some )?help|what can you do|how does (?:this|it) work"
        r"|what are (?:my|the) options|options|\?+)(?: please)?\W*$",
    ),
    (
        "menu",
        rf"{_LEAD}(?:(?:the |main )?menu|show (?:me )?the (?:main )?menu|back to (?:the )?(?:main )?menu"
        r"|main options)(?: please)?\W*$",
    ),
)
_COMMAND_RES = [(name, re.compile(pattern)) for name, pattern in _COMMANDS]

_DECLINE = re.compile(
    r"\b(?:i'?ll|i will|we'?ll|we will|let me|i can)\s+(?:\w+\s+){0,2}?(?:sort|arrange|do|book|organi[sz]e|"
    r"figure|work|look|deal)\b[^.!?]{0,20}\b(?:another|some other|a different|other) (?:time|day)\b"
    r"|\b(?:another|some other) time\b"
    r"|\b(?:need|have|want|got|going) to (?:ask|check with|talk to|speak (?:to|with)|talk with|run it by|"
    r"confirm with|see what) (?:my|the|our)\b"
    r"|\b(?:i'?ll|i will|let me|i need to|i have to|i'?m going to)\s+(?:think about it|think it over|"
    r"have a think|sleep on it|get back to you|call back|call you back|ring back|come back|check my|"
    r"check with|look at my|leave it|let you know|hold off|wait)\b(?:\s+later)?"
    r"|\bleave it (?:for now|there|for today|for the moment|for the time being)\b|\blet'?s leave it\b"
    r"|^(?:\w+\W+)?(?:just )?leave it\W*(?:thanks|thank you)?\W*$"
    r"|\b(?:forget (?:it|about it)|never ?mind|nevermind|nvm|don'?t worry(?: about it)?|no worries|"
    r"maybe later|maybe another time|not (?:right )?now|not today|not at the moment|not for now|"
    r"i'?m (?:good|ok|okay|fine) (?:thanks|thank you|for now)|changed my mind|don'?t bother|"
    r"scratch that|i'?ll pass)\b"
    r"|^(?:no|nah|nope)\W*(?:thanks|thank you|ty|that'?s (?:ok|okay|fine|alright)|it'?s (?:ok|okay|fine)|"
    r"i'?m (?:ok|okay|good|fine))\b"
    r"|\b(?:i|we) (?:don'?t|do not) (?:want|need)(?: to)? (?:it|one|that|this|to book|an appointment|"
    r"a booking|anything)\b(?: (?:anymore|any more|after all|now|then))?"
)
_KEEP = re.compile(
    r"\b(?:leave it(?: as it is| as is| be| alone| then)?|keep (?:it|my|the)|don'?t cancel|do not cancel|"
    r"on second thoughts?|second thoughts|no wait|wait no|hold on|changed my mind|i'?ll keep it|"
    r"i'?ll come after all|i can (?:make it|come) after all|never ?mind|not anymore|don'?t do it)\b"
)


def command(message: str) -> str | None:
    """ "restart", "help" or "menu" when the whole (normalized) message is that command."""
    return next((name for name, pattern in _COMMAND_RES if pattern.match(message)), None)


def declines(message: str) -> tuple[int, int] | None:
    """Where the message ends what is on the table, politely (not now, not here, not this), if it
    does."""
    match = _DECLINE.search(message)
    return match.span() if match else None


def keeps(message: str) -> bool:
    """At a cancel question: a change of heart that keeps the booking as it is."""
    return bool(_KEEP.search(message))


# ---- messages that cannot be read ----

_FOREIGN = frozenset(
    """hola quiero quisiera una cita gracias buenos buenas dias días por favor necesito puedo tengo
    reservar turno mañana manana bonjour voudrais rendez-vous rendez merci bitte möchte moechte
    termin danke guten olá gostaria marcar consulta obrigado obrigada ciao vorrei appuntamento grazie
    prenotare salve buongiorno bonsoir aujourd'hui demain hoje amanhã amanha heute morgen""".split()
)
_ENGLISH_HINT = frozenset("i you the a an to my me is are can could please and for on at".split())


def unreadable(message: str) -> str | None:
    """Why a message cannot be read, when it cannot: "foreign" (another language), "emoji" (no
    letters or digits), "unspaced" (a long run of letters without spaces); else None."""
    words = re.findall(r"[^\W\d_][\w'-]*", message)
    if not re.search(r"[a-z0-9]", message) and not words:
        return "emoji"
    foreign = sum(1 for w in words if w in _FOREIGN)
    english = sum(1 for w in words if w in _ENGLISH_HINT)
    if (foreign >= 2 and foreign > english) or (foreign and not english and len(words) <= 2):
        return "foreign"
    if any(len(w) >= 16 and "-" not in w for w in words) and len(words) <= 2:
        return "unspaced"
    return None
