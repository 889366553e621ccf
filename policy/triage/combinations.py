"""The second detector: combinations of lay symptom words, not listed phrases.

A rule names a body state (the anchor: "shaking", "won't wake", "swelling") and companions that make
it an emergency: persistence or severity ("won't stop", "for five minutes", "all over"), another
state ("not responding", "going blue"), a trigger ("after eating peanuts"), a person. Words are
matched one by one, so "he's jerking and making a gurgling noise and won't answer me" is found
though no listed phrase says "seizure". Every anchor and companion is read in its context
(`context.discounted` through `Notes`): negated, past, in another context or a figure of speech, it
does not count.

A rule is confident when more companions hold than it needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policy.triage.notes import Notes

_NOT = r"(?:won'?t|will not|can'?t|cannot|isn'?t|is not|not|doesn'?t|does not|didn'?t|hasn'?t|never)"
_PRONOUN = r"(?:him|her|them|me|my \w+|his|he|she)"

SHAKING = (
    r"\b(?:shak(?:ing|es|en|y)|jerk\w*|twitch\w*|convuls\w*|thrash\w*|spasm\w*|seiz\w*|siez\w*|fitting"
    r"|having a fit|went (?:stiff|rigid)|(?:stiff|rigid) as a board|foaming|frothing|eyes? (?:rolled|rolling)"
    r"|gurgling)\b"
)
UNRESPONSIVE = (
    rf"\b{_NOT}\s+(?:wake|waking|woken|respond\w*|answer\w*|react\w*|com(?:e|ing) round|come to"
    r"|open(?:ing)? (?:his|her|their|my) eyes|be woken|rous\w*)\b"
    r"|\b(?:unresponsive|unconscious|unconcious|passed out|blacked out|collaps\w*|colaps\w*|keeled over"
    r"|slumped|went limp|gone limp|limp|floppy|lifeless|out cold|not there|lying there|hard to wake"
    r"|dropped (?:to the floor|down)|just dropped|went down|hit the floor|still out)\b"
)
PERSISTING = (
    r"\b(?:won'?t stop|wont stop|not stopping|hasn'?t stopped|can'?t stop|keeps?|kept|still|non-?stop"
    r"|for (?:\d+|one|two|three|four|five|six|ten|a few|several|over \w+|like \d+) ?(?:min\w*|hours?)"
    r"|minutes|mins|ages|getting worse|worse|all over|whole body|uncontrollabl\w*|again|another|first time"
    r"|never came round|in between)\b"
)
BREATHLESS = (
    r"\b(?:can'?t|cant|cannot|couldn'?t|struggl\w*|barely|hardly|trouble|difficult\w*|hard to|fighting to)"
    r"\s+(?:to\s+)?(?:breath\w*|get (?:any |enough )?air|catch (?:his|her|my|their) breath|get (?:his|her|my"
    r"|their) breath)\b|\b(?:gasp\w*|wheez\w*|breathless\w*|short of breath|breathing (?:funny|fast|weird"
    r"|strange|noisy|noisily|shallow)|not breathing|isn'?t breathing|stopped breathing|suffocat\w*|grunting"
    r"|ribs? (?:are )?sucking in|sucking in under|(?:only|barely) (?:say|get out|speak) a (?:few"
    r"|couple of) words"
    r"|can'?t (?:even )?finish a sentence)\b"
)
BLUE = (
    r"\b(?:going|turning|gone|turned|went|look(?:s|ing)?|is|are) (?:blue|grey|gray|purple)\b"
    r"|\b(?:blue|grey|gray) (?:lips|around the (?:lips|mouth))\b|\blips? (?:are |is |look )?(?:blue"
    r"|grey|gray)\b"
)
SWELLING = (
    r"\b(?:swell\w*|swole\w*|swolen|puff\w*|blow(?:n|ing) up|blew up|balloon\w*|hives|welts|blotch\w*"
    r"|(?:throat|tongue)\b[^.!?]{0,20}\b(?:tight|closing|huge|thick)|closing up)\b"
)
TRIGGER = (
    r"\b(?:peanut\w*|nuts?|cashews?|almonds?|shellfish|shrimps?|prawns?|crab|lobster|sesame|eggs?|bees?"
    r"|wasps?|stung|sting|penicillin|antibiotics?|new (?:medicine|medication|meds|tablets|pills)|latex"
    r"|allergic|allergy|allergies|epi-?pen)\b"
)
FAINT = (
    r"\b(?:faint\w*|feint|dizz\w*|light-?headed|woozy|pass(?:ing)? out|clammy|sweat\w*|grey|gray|pale"
    r"|nause\w*|sick|vomit\w*|throwing up|weak|cold sweat|breathless|short of breath)\b"
)
UPPER_BODY_ACHE = (
    r"\b(?:jaw|arms?|shoulders?|neck|upper back|shoulder blades|chest)\b[^.!?]{0,30}\b(?:pain\w*|ach\w*"
    r"|hurt\w*|pressure|heavy|heaviness|tight\w*|squeez\w*|crushing|numb\w*|tingl\w*)"
    r"|\b(?:pain\w*|ach\w*|hurt\w*|pressure|heavy|heaviness|tight\w*|squeez\w*|crushing)\b[^.!?]{0,30}"
    r"\b(?:jaw|arms?|shoulders?|neck|upper back|shoulder blades|chest)\b"
)
FACE_DROOP = (
    r"\b(?:face|smile|mouth|eye|eyelid|lip)\b[^.!?]{0,25}\b(?:droop\w*|lopsided|crooked|uneven|sagg\w*"
    r"|dropped|fallen|slipped|twisted)\b"
)
SPEECH = (
    r"\b(?:slurr\w*|gibberish|nonsense|garbled|jumbled|mumbl\w*|not making (?:any )?sense"
    r"|can'?t (?:speak|talk|get (?:his|her|my|their|the) words)|words (?:are )?(?:all )?(?:mixed"
    r"|wrong|muddled"
    r"|jumbled)|can'?t find (?:his|her|my|their) words)\b"
)
ONE_SIDE_WEAK = (
    r"\b(?:one side|left side|right side|(?:left|right|one) (?:arm|leg|hand))\b"
    r"|\b(?:arm|leg|hand)\b[^.!?]{0,20}\b(?:weak|numb|floppy|gave way|dead|limp|heavy)\b"
    r"|\bcan'?t (?:lift|raise|move|feel|grip)\b"
)
SUDDEN = r"\b(?:sudden(?:ly)?|all of a sudden|out of nowhere|just now|came on|this started|started)\b"
STUCK = r"\b(?:stuck|lodged|wrong way|chok\w*|chock\w*|gagging)\b"
AIRWAY_BLOCKED = (
    r"\b(?:can'?t|cannot|unable to) (?:breathe|breath|cough|speak|talk|get any air)\b|\bno sound\b"
    r"|\bclutching (?:at )?(?:his|her|my|their) throat\b|\bback blows\b" + "|" + BLUE
)
BLEEDING = r"\b(?:bleed\w*|blead\w*|bled\w*|blood\w*|gauze|haemorrhag\w*|hemorrhag\w*)\b"
HEAVY = (
    r"\b(?:heav\w*|pouring|spurting|gushing|soak\w*|loads|lots|a lot|everywhere|won'?t stop|not stopping"
    r"|hasn'?t stopped|nonstop|non-stop|filling|through (?:every|the)|so much)\b"
)
SHOCK = (
    r"\b(?:pale|clammy|cold|faint\w*|feint|dizz\w*|light-?headed|confus\w*|drows\w*|woozy|racing|white"
    r"|grey|gray|barely stand|pass(?:ing)? out|shaky|breathing fast)\b"
)
CHILD = (
    r"\b(?:baby|babies|infant|newborn|toddler|child|kid|son|daughter|little (?:boy|girl|one)|\d+ ?yo"
    r"|\d+[- ](?:year|month|week)s?[- ]old)\b"
)
CHILD_STATE = (
    BREATHLESS + "|" + BLUE + r"|\b(?:floppy|limp|lifeless|unresponsive|grunting|blotchy|won'?t wake"
    r"|not waking|can'?t wake|(?:doesn'?t|does not|won'?t) (?:fade|go away))\b"
)
BURNED = (
    r"\b(?:burn\w*|scald\w*|boiling|hot (?:oil|water|tea|coffee|pan|drink|fat)|kettle|fire|flames|chemical"
    r" splash|electric shock|grease)\b"
)
BURN_SEVERE = (
    r"\b(?:blister\w*|peeling|white|leathery|charred|black\w*|raw|coming off|falling off|massive|huge"
    r"|big|badly|burned through|burnt through|all over|all down|face|chest|legs)\b"
)
SEIZURE_SIGN = (
    r"\b(?:eyes? (?:are |were )?(?:rolled|rolling)|foaming|frothing|high temperature|fever|not looking at"
    r"|staring|drool\w*|gurgl\w*)\b"
)
SUBSTANCE = (
    r"\b(?:pills?|tablets?|meds|medicines?|medication|capsules|paracetamol|ibuprofen|painkillers|bleach"
    r"|detergent|antifreeze|weed ?killer|batter(?:y|ies)|pods?|mouthwash|cleaner|poison\w*|too many"
    r"|too much)\b"
)
INGESTED = (
    r"\b(?:swall?ow\w*|swalow\w*|drank|drunk|drink\w*|ate|eaten|took|taken|got into|chewed|overdos\w*)\b"
)
AFFECTED = (
    r"\b(?:drows\w*|sleepy|sick|vomit\w*|throwing up|not making sense|confus\w*|acting drunk|barely"
    r"|unresponsive|won'?t wake|on purpose|whole|all of|way too)\b"
)
DESPAIR = (
    r"\b(?:can'?t (?:do this|cope|go on|take (?:it|this))|goodbye|rope|noose|(?:written|wrote"
    r"|left) (?:the |a |my )?"
    r"(?:notes?|letters?)|pills (?:are )?ready|end (?:it|things|my life)|wants? to die|want to be dead|kill"
    r" (?:myself|himself|herself)|disappear forever|no point|hopeless|cutting|jump off)\b"
)
INTENT = (
    r"\b(?:plan|planned|planning|ready|tonight|rope|noose|pills|notes?|goodbye|locked (?:himself"
    r"|herself|myself)"
    r"|bridge|deep|going to)\b"
)
HEAD_HIT = (
    r"\b(?:hit|banged|bumped|knocked|smacked|whacked|struck|cracked|fell on|punched in"
    r"|landed on)\b[^.!?]{0,25}"
    r"\bhead\b"
)
HEAD_RED_FLAG = (
    r"\b(?:vomit\w*|sick|throw\w* up|confus\w*|drows\w*|sleepy|knocked out|can'?t remember|fluid|pupils?"
    r"|slurr\w*|not making sense|doesn'?t know where|blacked out|passed out|seiz\w*|fit)\b"
)


@dataclass(frozen=True)
class Rule:
    category: str
    anchor: re.Pattern[str]
    companions: tuple[re.Pattern[str], ...]
    needs: int  # how many companions must hold


def _rule(category: str, anchor: str, *companions: str, needs: int = 1) -> Rule:
    return Rule(category, re.compile(anchor), tuple(re.compile(c) for c in companions), needs)


RULES: tuple[Rule, ...] = (
    _rule("child", CHILD_STATE, CHILD),
    _rule("choking", STUCK, AIRWAY_BLOCKED),
    _rule("seizure", SHAKING, PERSISTING, UNRESPONSIVE, BLUE, SEIZURE_SIGN),
    _rule("unconscious", UNRESPONSIVE, rf"\b{_PRONOUN}\b", PERSISTING, BREATHLESS),
    _rule("anaphylaxis", SWELLING, TRIGGER, BREATHLESS, FAINT),
    _rule("anaphylaxis", TRIGGER, BREATHLESS, FAINT, SWELLING, needs=2),
    _rule("cardiac", UPPER_BODY_ACHE, FAINT),
    _rule("stroke", FACE_DROOP, SPEECH, ONE_SIDE_WEAK, SUDDEN),
    _rule("stroke", SPEECH, ONE_SIDE_WEAK, SUDDEN),
    _rule("stroke", ONE_SIDE_WEAK, SUDDEN, SPEECH),
    _rule(
        "breathing", BREATHLESS, BLUE, PERSISTING, r"\b(?:inhaler|sentence|can'?t (?:talk|speak)|few words)\b"
    ),
    _rule("bleeding", BLEEDING, SHOCK, HEAVY, needs=1),
    _rule("burn", BURNED, BURN_SEVERE, CHILD),
    _rule("poisoning", SUBSTANCE, INGESTED, CHILD, AFFECTED, needs=2),
    _rule("self_harm", DESPAIR, INTENT),
    _rule("head_injury", HEAD_HIT, HEAD_RED_FLAG),
)


@dataclass(frozen=True)
class Finding:
    category: str
    confident: bool


def combine(notes: Notes) -> Finding | None:
    """The first rule whose anchor and enough companions hold in the (normalised) message."""
    for rule in RULES:
        if notes.current(rule.anchor, rule.category) is None:
            continue
        holding = sum(1 for companion in rule.companions if notes.holds(companion))
        if holding >= rule.needs:
            return Finding(rule.category, holding > rule.needs)
    return None


# Any word of a body state, injury or intent: the classifier speaks only about a message that has one
# meant now, so a sentence that merely looks like the corpus's ("I want to stop the reminders") does
# not reach the emergency line.
SYMPTOM = re.compile(
    "|".join(
        (SHAKING, UNRESPONSIVE, BREATHLESS, BLUE, SWELLING, FAINT, UPPER_BODY_ACHE, FACE_DROOP, SPEECH,
         ONE_SIDE_WEAK, STUCK, BLEEDING, BURNED, HEAD_HIT, SUBSTANCE, DESPAIR, CHILD_STATE, SEIZURE_SIGN,
         r"\b(?:pain\w*|hurt\w*|ach\w*|breath\w*|breth\w*|blood|chest|heart|throat|fit|stroke|seiz\w*|siez\w*"
         r"|collap\w*|unconc\w*|uncons\w*|overdos\w*|die|dying|suicid\w*|poison\w*|fell|fallen|cut|stung)\b")
    )
)  # fmt: skip
