"""Warning signs per emergency category, as public first-aid guidance describes them (NHS "when to
call 999", the American Heart Association's heart-attack warning signs, FAST for stroke, first-aid
advice on seizures, choking, poisoning, burns and head injuries, published warning signs of suicide).

A sign is a pattern, or several that must all appear in the message (a cluster: pain in the arm *and*
sweating). Recall comes first: a sign is broad, and `context` takes back what negation, history,
other contexts and figures of speech say is not happening now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policy.triage.notes import Notes

_PERSON = r"(?:my|his|her|their|the)"
_CHILD = (
    r"\b(?:baby|babies|infant|newborn|toddler|child|kid|son|daughter|little (?:boy|girl|one)|grandson|"
    r"granddaughter|boy|girl|(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)[- ](?:year|month|week"
    r"|day)s?[- ]old)\b"
)
BREATHING = (
    r"\b(?:can'?t|cannot|can not|couldn'?t|unable to|struggling to|struggle to|hard to|difficult to|trouble|"
    r"difficulty|problems?|barely|hardly|fighting to)\s+(?:to\s+)?(?:\w+ (?:and|or) )?(?:breathe|breathing"
    r"|catch \w+ breath|"
    r"get \w+ breath)\b"
    r"|\b(?:short(?:ness)? of breath|breathless(?:ness)?|out of breath|gasping|fighting for (?:air|breath)|"
    r"struggling for (?:air|breath)|not breathing|isn'?t breathing|stopped breathing"
    r"|can'?t get (?:enough )?air|"
    r"wheezing (?:badly|a lot|heavily)|choking|choked)\b"
    r"|\b(?:lips?|face|skin|mouth)\b[^.!?]{0,12}\b(?:blue|grey|gray)\b|\b(?:turning|gone|going|turned) blue\b"
    r"|\basthma attack\b|\binhaler (?:isn'?t|is not|not|doesn'?t|does not) (?:helping|working|help|work)\b"
    r"|\bbreathing (?:is |has )?(?:very |really |so )?(?:fast|shallow|laboured|labored|noisy|rattly|strange"
    r"|weird|"
    r"bad|difficult|gone funny|stopped)\b|\bgrunting\b"
)
_CHEST_PAIN = (
    r"\bchest (?:pain|pains|hurts?|hurting|is (?:tight|heavy|hurting|painful|burning|on fire)|tightness"
    r"|pressure|"
    r"feels (?:really |very |so |quite |a bit |kind of )?(?:tight|heavy|like)|discomfort|heaviness)\b"
    r"|\b(?:pain|pains|pressure|tightness|heaviness|squeezing|crushing|ache|aching|heavy feeling"
    r"|tight feeling|"
    r"discomfort)\b(?:\s+\w+){0,4}?\s+(?:in|on|across|of|around)\s+(?:the\s+)?(?:middle of\s+|centre of\s+"
    r"|center of\s+)?"
    rf"{_PERSON} chest\b"
    r"|\b(?:crushing|squeezing|tight|heavy)\s+(?:feeling\s+|pain\s+|pressure\s+)?(?:in\s+)?(?:my|his|her"
    r"|the) chest\b"
    r"|\bclutching (?:at )?(?:my|his|her|their) chest\b"
    r"|\b(?:weight|elephant|something heavy|a band|band|vice|vise)\b[^.!?]{0,20}\b(?:on|around|across"
    r"|crushing|squeezing) "
    rf"{_PERSON} chest\b"
)
_RADIATING = r"\b(?:pain|ache|aching|pressure|tightness)\b[^.!?]{0,40}\b(?:arm|arms|jaw|neck|shoulder|back)\b"
_CARDIAC_COMPANION = (
    r"\b(?:sweat\w*|faint\w*|dizzy|light-?headed|nause\w*|sick|pass(?:ing)? out|clammy|grey|gray|pale|"
    r"short of breath|breathless|can'?t breathe)\b"
)
_SUDDEN = r"\b(?:sudden(?:ly)?|all of a sudden|out of nowhere|just now)\b"


@dataclass(frozen=True)
class Sign:
    category: str
    patterns: tuple[re.Pattern[str], ...]  # all must match; the first is where the sign is


def _sign(category: str, *patterns: str) -> Sign:
    return Sign(category, tuple(re.compile(p) for p in patterns))


# Checked in this order: the first category whose sign survives its context names the emergency.
SIGNS: tuple[Sign, ...] = (
    _sign(
        "self_harm",
        r"\b(?:kill|killing|hurt|hurting|harm|harming|cut|cutting|burn|burning)\s+(?:myself|my self)\b"
        r"|\bself[- ]harm\w*\b|\bsuicid\w*|\bend (?:my life|it all|my own life|things|everything)\b"
        r"|\bending (?:it all|things|my life|everything)\b"
        r"|\btake my (?:own )?life\b|\b(?:want|wanna|going|ready|plan) to die\b|\bbetter off dead\b"
        r"|\bdon'?t want to (?:live|be alive|be here anymore|be here any more|wake up|exist|go on)\b"
        r"|\b(?:no|any) (?:point|reason) (?:in |to |of )?(?:living|live|going on|go on|being alive"
        r"|carrying on|keep going|keeping going)\b"
        r"|\bdon'?t see (?:a|any|the) (?:reason|point) (?:to|in|of) (?:keep going|keeping going|live|living"
        r"|going on|carrying on|being here)\b"
        r"|\bcan'?t (?:go on|carry on|keep going)\b|\b(?:better off|be better) without me\b"
        r"|\bplan to (?:end|kill|hurt)\b|\b(?:wish|want) (?:i was|i were|i'd be|to be) dead\b"
        r"|\b(?:go to sleep|fall asleep) and (?:never|not) wake up\b|\bnot worth living\b|\blife (?:isn'?t"
        r"|is not|is no longer) worth\b"
        r"|\bgoodbye (?:letters?|notes?)\b|\bsaying goodbye to everyone\b|\bno way out\b"
        r"|\b(?:going to|gonna|want to|plan to|planning to|will) (?:take|swallow|overdose on) (?:all|every"
        r"|a bottle|a handful|the whole)\b"
        r"|\bif i (?:was|were|wasn'?t|weren'?t) (?:gone|dead|not here|not around|here|around)\b"
        r"|\bwant (?:it all|everything|my life) to (?:be over|end|stop)\b|\bwant it (?:all )?to be over\b",
    ),
    _sign(
        "poisoning",
        r"\b(?:swallowed|drank|drunk|drinking|ate|eaten|ingested|took|taken|got into|licked"
        r"|sucked on)\b[^.!?]{0,40}"
        r"\b(?:bleach|detergent|cleaners?|cleaning (?:fluid|liquid|product)|antifreeze|anti-freeze|poison\w*"
        r"|batter(?:y|ies)|"
        r"pesticide|weed ?killer|rat poison|paint thinner|lighter fluid|petrol|gasoline|kerosene"
        r"|nail polish remover|"
        r"laundry (?:pod|capsule|tablet)s?|dishwasher (?:pod|tablet)s?|drain cleaner|oven cleaner|lye"
        r"|mushrooms?)\b",
    ),
    _sign("poisoning", r"\boverdos\w*|\btook too (?:many|much)\b|\btaken too (?:many|much)\b"),
    _sign(
        "poisoning",
        r"\b(?:took|taken|swallowed|ate|eaten|had)\s+(?:a |the )?(?:whole |entire )?(?:bottle|pack|packet"
        r"|handful|box|bunch|"
        r"load|lot|loads|lots|strip|sheet|month'?s supply)s? of\b|\b(?:took|taken|swallowed)\s+(?:all"
        r"|every one) (?:of )?"
        r"(?:my|his|her|the|their)\b",
    ),
    _sign(
        "poisoning",
        _CHILD,
        r"\b(?:swallowed|ate|eaten|drank|got into|took|chewed)\b[^.!?]{0,40}\b(?:pills?|tablets?|medicine"
        r"|medication|meds|"
        r"capsules?|vitamins|gummies|painkillers|cabinet)\b",
    ),
    _sign("poisoning", r"\bcarbon monoxide\b|(?<!food )\bpoison(?:ed|ing)\b"),
    _sign(
        "child",
        BREATHING
        + r"|\b(?:floppy|limp|lifeless|unresponsive|won'?t wake|not waking|can'?t wake|isn'?t waking|"
        r"rash (?:that )?(?:doesn'?t|does not|won'?t) fade|not moving)\b",
        _CHILD,
    ),
    _sign("cardiac", r"\bheart attack\b|\bcardiac arrest\b|\bheart (?:has )?stopped\b"),
    _sign("cardiac", _CHEST_PAIN),
    _sign("cardiac", _RADIATING, _CARDIAC_COMPANION),
    _sign(
        "cardiac",
        r"\bheart (?:is )?(?:racing|pounding|beating (?:really |very )?fast)\b",
        r"\b(?:faint\w*|dizzy|pass(?:ing)? out|chest|breath\w*|light-?headed)\b",
    ),
    _sign(
        "stroke",
        r"\b(?:just had|has just had|is having|am having|i'?m having|he'?s having|she'?s having|having"
        r"|may be having|"
        r"might be having|could be having|had|has had)\s+(?:a |another )?(?:mini[- ])?stroke\b"
        r"|\b(?:showing|having|has|with) (?:the )?(?:signs?|symptoms?) of (?:a )?stroke\b"
        r"|\bstroke (?:symptoms|signs)\b"
        r"|\bthink (?:it'?s|it is|this is) a stroke\b",
    ),
    _sign(
        "stroke",
        r"\b(?:face|mouth|smile|lip|eye|eyelid)\b[^.!?]{0,20}\b(?:droop\w*|dropp?ed|sagg\w*|fallen|lopsided"
        r"|uneven|slumped)\b"
        r"|\bslurr\w+\b|\b(?:words|speech) (?:are |is )?(?:coming out wrong|jumbled|garbled|not making sense"
        r"|muddled)\b"
        r"|\bcan'?t (?:speak|talk) (?:properly|clearly|right|normally)\b|\bcan'?t get (?:my|his|her"
        r"|their) words out\b"
        r"|\bcan'?t (?:move|feel|lift|raise|use) (?:my|his|her|their|one|the) (?:\w+ )?(?:arm|arms|leg|legs"
        r"|side|face|hand)\b"
        r"|\bnumb\w*\b[^.!?]{0,30}\bone side\b|\bone side of (?:my|his|her|their|the) (?:face|body)\b"
        r"|\bworst headache\b|\bthunderclap headache\b|\bsudden(?:ly)?,? (?:severe|terrible|awful"
        r"|splitting) headache\b",
    ),
    _sign(
        "stroke",
        _SUDDEN,
        r"\b(?:numb\w*|weak\w*|confus\w*|can'?t (?:speak|see|walk|talk|understand)|lost (?:my|his"
        r"|her) (?:vision|sight|balance)|"
        r"blind\w*|double vision|can'?t see)\b",
    ),
    _sign(
        "seizure",
        r"\b(?:having|has|is having|had|having had)\s+(?:a |another |his first |her first |my first "
        r"|their first |a first |"
        r"(?:his|her|my|their) first ever |a bad )?(?:seizure|fit|convulsion)s?\b"
        r"|\bseizing\b|\bconvuls\w*|\bseizures? (?:that |which )?(?:won'?t|isn'?t|hasn'?t|doesn'?t|didn'?t"
        r"|not)\s+stop\w*"
        r"|\b(?:fit|fitting)\b[^.!?]{0,20}\b(?:won'?t|isn'?t|hasn'?t|doesn'?t) stop\w*\b"
        r"|\bwon'?t stop (?:shaking|jerking|twitching)\b|\bshaking\b[^.!?]{0,30}\b(?:uncontrollabl\w*"
        r"|not responding|unresponsive)\b"
        r"|\b(?:another|second|new) (?:one|seizure|fit) (?:started|starting|has started|began)\b"
        r"|\b(?:is|been|keeps?|started|he'?s|she'?s|they'?re|was|still) fitting\b(?! (?:in|me|us|you|him|her"
        r"|them|a|the|room))",
    ),
    _sign(
        "unconscious",
        r"\bcollaps(?:ed|ing|es)\b|\bunconscious\b|\bunresponsive\b|\b(?:not|isn'?t|is not"
        r"|stopped) (?:responding|responsive)\b"
        r"|\bwon'?t wake(?: up)?\b|\bcan'?t wake (?:him|her|them|my \w+)\b|\b(?:not|isn'?t) waking(?: up)?\b"
        r"|\bout cold\b"
        r"|\bpassed out\b|\bblacked out\b|\bkeeps? (?:passing|blacking) out\b|\bfainted\b|\bfainting\b",
    ),
    _sign(
        "anaphylaxis",
        r"\banaphyla\w*|\b(?:throat|tongue|lips?|mouth)\b[^.!?]{0,15}\b(?:swelling|swollen|swelled|closing"
        r"|tight|tightening|"
        r"puffing up|blowing up)\b|\b(?:use|used|using|need|needed|give|gave) (?:an |my |his |her "
        r"|the )?epi-?pen\b",
    ),
    _sign(
        "anaphylaxis",
        r"\ballergic reaction\b",
        r"\b(?:breath\w*|throat|swell\w*|swollen|hives|wheez\w*|dizzy|faint\w*|tongue|lips?)\b",
    ),
    _sign("breathing", BREATHING),
    _sign(
        "breathing",
        r"\bwheez\w*",
        r"\b(?:can'?t (?:talk|speak)|too breathless|struggl\w*|badly|really bad|chest|lips|blue|tight|scared"
        r"|panick\w*)\b",
    ),
    _sign(
        "bleeding",
        r"\b(?:heavy|severe|uncontrolled|uncontrollable|massive|serious|lots of|so much"
        r"|a lot of) (?:bleeding|blood)\b"
        r"|\bbleeding (?:heavily|badly|profusely|a lot|everywhere|nonstop|non-stop|like crazy|so much)\b"
        r"|\b(?:bleeding|blood|bleed)\b[^.!?]{0,40}\b(?:won'?t|will not|doesn'?t|does not|can'?t|cannot"
        r"|isn'?t|hasn'?t|not) stop\w*\b"
        r"|\b(?:won'?t|can'?t|cannot) stop (?:the )?bleed\w*\b|\bblood (?:is )?(?:everywhere|spurting"
        r"|gushing|pouring|squirting)\b"
        r"|\b(?:spurting|gushing|pouring|squirting) (?:out )?blood\b|\bsoak\w* through\b"
        r"|\blost a lot of blood\b"
        r"|\bdeep (?:cut|wound|gash)\b|\b(?:coughing|vomiting|throwing) up blood\b",
    ),
    _sign(
        "burn",
        r"\b(?:severe|serious|bad|big|large|huge|deep|major|third[- ]degree|3rd[- ]degree|second[- ]degree"
        r"|chemical|"
        r"electrical|acid) burns?\b|\bbadly (?:burn(?:ed|t)|scald(?:ed)?)\b"
        r"|\b(?:burn(?:ed|t)|scald(?:ed)?|spilled|spilt|poured)\b[^.!?]{0,40}\b(?:boiling|hot oil|fire"
        r"|flames|acid|chemicals?|"
        r"electric\w*)\b|\bburns?\b[^.!?]{0,30}\b(?:white|leathery|charred|blackened|blister\w*|peeling)\b"
        r"|\b(?:burn(?:ed|t)|scald(?:ed)?)\b[^.!?]{0,25}\b(?:badly|blister\w*|peeling|raw)\b"
        r"|\bskin (?:is )?(?:peeling|coming|falling) off\b|\bcaught (?:on )?fire\b|\b(?:is|was"
        r"|were) on fire\b",
    ),
    _sign(
        "head_injury",
        r"\b(?:hit|hitting|banged|banging|bumped|bumping|knocked|smacked|whacked|struck|injured|hurt"
        r"|cracked)\s+"
        r"(?:his|her|my|their|the back of \w+)"
        r" head\b|\bhead (?:injury|injuries|trauma|wound)\b|\bfell on (?:his|her|my|their) head\b"
        r"|\bconcussion\b",
        r"\b(?:confus\w*|vomit\w*|being sick|throwing up|drows\w*|sleepy|can'?t (?:remember|stay awake)"
        r"|memory|"
        r"unconscious|knocked out|passed out|blacked out|seizure|fit|pupils?|blurr\w*|slurr\w*"
        r"|not making sense|"
        r"clear fluid|bleeding from (?:\w+ )?(?:ear|ears|nose))\b",
    ),
    _sign(
        "head_injury",
        # A tooth knocked out is the urgent dental level, not a head injury.
        r"\b(?<!tooth )(?<!teeth )(?<!tooth has )(?:was|got|been|is|being|were) knocked out\b"
        r"(?! (?:a |my |his |her |their )?(?:tooth|teeth|filling"
        r"|crown))",
    ),
)


def find(notes: Notes) -> str | None:
    """The category of the first sign that holds now in the (normalised) message, or None."""
    for sign in SIGNS:
        first, *rest = sign.patterns
        if all(pattern.search(notes.message) for pattern in rest) and notes.current(first, sign.category):
            return sign.category
    return None
