"""Templates of the urgent dental level, and of near misses that must stay ordinary.

Urgent dental, after NHS and dental-practice guidance on urgent dental care: a knocked-out adult
tooth (keep it in milk, see a dentist within the hour), a broken tooth with pain, bleeding after an
extraction that will not stop with pressure, severe toothache with fever, facial swelling from a tooth
that is not spreading (spreading to the eye or neck is an emergency: `emergencies`).

Near misses: a sign negated, in the past, in another context (a question, a form, a leaflet), a
figure of speech, a cold or hay fever, dental anxiety, an everyday toothache, habits ("won't wake up
for school"), breathlessness from exertion, and dental problems guidance calls routine (a chipped
tooth without pain, a lost filling, gums that bleed when brushing, a baby tooth coming out).
"""

from __future__ import annotations

from policy.triage.corpus.template import Template

T = Template

FRONT = ["front tooth", "adult tooth", "top tooth", "tooth", "front teeth", "incisor"]
KNOCK = ["playing football", "at rugby", "falling off {poss} bike", "in a fight", "on the trampoline",
         "at hockey practice", "tripping on the stairs", "walking into a door"]  # fmt: skip
TOOTH = ["molar", "back tooth", "wisdom tooth", "tooth", "bottom tooth", "filling"]
TIME = ["this morning", "yesterday", "a few hours ago", "at lunchtime", "last night", "earlier today"]
ROUTINE = ["a cleaning", "a check-up", "my appointment", "a filling", "a scale and polish", "an appointment"]
DAY = ["next week", "on Tuesday", "tomorrow", "this Friday", "on Monday"]
CONDITION = ["a stroke", "a heart attack", "a seizure", "anaphylaxis", "an overdose", "a bad asthma attack"]
WHEN = ["last year", "in 2019", "two years ago", "a few months back", "years ago", "as a kid"]
SIGN_WORD = ["chest pain", "trouble breathing", "swelling", "bleeding", "fever", "seizures", "numbness"]
COLD = ["stuffy nose", "blocked nose", "bunged up nose", "runny nose and cough", "chesty cough", "sinus congestion",
        "head cold", "sore throat and sniffles"]  # fmt: skip

URGENT: list[Template] = [
    T("knocked_out_tooth", "any", "{N} knocked {poss} {front} out {knock}", front=FRONT, knock=KNOCK),
    T(
        "knocked_out_tooth",
        "any",
        "{poss} {front} got knocked out {knock}, I have the tooth here",
        front=FRONT,
        knock=KNOCK,
    ),
    T(
        "knocked_out_tooth",
        "other",
        "{Nis} 14 and {poss} {front} came out completely {knock}",
        front=FRONT,
        knock=KNOCK,
    ),
    T(
        "knocked_out_tooth",
        "any",
        "took an elbow to the mouth and lost a {front}, it's in a cup of milk",
        front=FRONT,
    ),
    T(
        "knocked_out_tooth",
        "any",
        "{poss} whole tooth fell out when {P} got hit {time}, root and all",
        time=TIME,
    ),
    T("broken_tooth", "any", "{N} broke {poss} {tooth} in half and it really hurts", tooth=TOOTH),
    T("broken_tooth", "any", "cracked {poss} {tooth} on a nut {time} and it's agony", tooth=TOOTH, time=TIME),
    T(
        "broken_tooth",
        "any",
        "half of {poss} {tooth} snapped off {knock}, the nerve is showing",
        tooth=TOOTH,
        knock=KNOCK,
    ),
    T("broken_tooth", "any", "{poss} {front} is broken and sharp and throbbing", front=FRONT),
    T("dental_bleeding", "any", "{poss} socket is still bleeding since the extraction {time}", time=TIME),
    T(
        "dental_bleeding",
        "any",
        "had a tooth out {time} and the bleeding won't stop even with gauze",
        time=TIME,
    ),
    T("dental_bleeding", "any", "{poss} wisdom tooth hole keeps bleeding, been biting on gauze for an hour"),
    T(
        "dental_bleeding",
        "any",
        "after {poss} extraction {time} {P} can't get the gum to stop bleeding",
        time=TIME,
    ),
    T("dental_pain_fever", "any", "severe toothache and {Pis} running a fever"),
    T(
        "dental_pain_fever",
        "any",
        "{poss} {tooth} is throbbing so bad {P} can't sleep and {P} {have} a temperature",
        tooth=TOOTH,
    ),
    T(
        "dental_pain_fever",
        "any",
        "agonising pain from {poss} {tooth}, hot and shivery with a fever",
        tooth=TOOTH,
    ),
    T("dental_pain_fever", "any", "unbearable tooth pain, painkillers do nothing and now a high temperature"),
    T(
        "dental_swelling",
        "any",
        "{poss} gum is swollen around a {tooth} and {poss} cheek is puffy",
        tooth=TOOTH,
    ),
    T("dental_swelling", "any", "swollen face from a tooth abscess, it's sore"),
    T(
        "dental_swelling",
        "any",
        "{poss} jaw has swollen up near {poss} {tooth} since {time}",
        tooth=TOOTH,
        time=TIME,
    ),
    T("dental_swelling", "any", "there's a big swelling on {poss} gum with pus coming out"),
]

NEAR_MISSES: list[Template] = [
    T(
        "none",
        "any",
        "no {sign} or anything, just need {routine} {day}",
        "negation",
        sign=SIGN_WORD,
        routine=ROUTINE,
        day=DAY,
    ),
    T(
        "none",
        "any",
        "{N} {dont} have any {sign}, {P} just want{s} {routine}",
        "negation",
        sign=SIGN_WORD,
        routine=ROUTINE,
    ),
    T("none", "any", "the bleeding has stopped now, can I book a check {day}", "negation", day=DAY),
    T(
        "none",
        "self",
        "I'm not suicidal or anything, just stressed about the cost of {routine}",
        "negation",
        routine=ROUTINE,
    ),
    T(
        "none",
        "any",
        "{N} had {cond} {when}, can {P} still have {routine}?",
        "history",
        cond=CONDITION,
        when=WHEN,
        routine=ROUTINE,
    ),
    T(
        "none",
        "any",
        "since {poss} heart attack {P} take{s} blood thinners, will {P} bleed more after an extraction?",
        "history",
    ),
    T("none", "any", "{N} {have} epilepsy, is sedation ok for {routine}?", "history", routine=ROUTINE),
    T(
        "none",
        "any",
        "{poss} tooth got knocked out {when} and I'd like to ask about an implant",
        "history",
        when=WHEN,
    ),
    T("none", "any", "{N} used to have seizures as a child but nothing for years", "history"),
    T("none", "any", "what should I do if someone collapses in the waiting room?", "other_context"),
    T("none", "any", "is a little oozing normal after an extraction?", "other_context"),
    T("none", "any", "the medical form asks about {sign}, what do I put?", "other_context", sign=SIGN_WORD),
    T("none", "any", "does the numbing make {poss} lip swell up for a while?", "other_context"),
    T("none", "any", "what are the signs of a dental abscess?", "other_context"),
    T("none", "any", "this toothache is killing me, any appointments {day}?", "figure_of_speech", day=DAY),
    T("none", "any", "the price of the crown nearly gave me a heart attack", "figure_of_speech"),
    T("none", "self", "I'm choking up just thinking about finally fixing my smile", "figure_of_speech"),
    T("none", "self", "I'm dying to get my teeth whitened before the wedding", "figure_of_speech"),
    T("none", "any", "my heart stopped when I saw the bill lol", "figure_of_speech"),
    T("none", "self", "I got all choked up when the dentist said I had no cavities", "figure_of_speech"),
    T(
        "none",
        "any",
        "{N} {have} a {cold}, can't breathe through {poss} nose, should we move {routine}?",
        "cold_symptoms",
        cold=COLD,
        routine=ROUTINE,
    ),
    T(
        "none",
        "any",
        "{cold} and can't breathe through it at night, is it ok to come in {day}",
        "cold_symptoms",
        cold=COLD,
        day=DAY,
    ),
    T(
        "none",
        "any",
        "{N} {have} a cold and is a bit wheezy, can we still come {day}?",
        "cold_symptoms",
        day=DAY,
    ),
    T(
        "none",
        "any",
        "{poss} hay fever is awful, itchy eyes and sneezing, can I still have {routine}",
        "allergy",
        routine=ROUTINE,
    ),
    T("none", "any", "{N} is allergic to penicillin, please note it on {poss} file", "allergy"),
    T("none", "any", "I'm allergic to latex, do you use latex gloves?", "allergy"),
    T(
        "none",
        "any",
        "{poss} lips get a bit puffy from cold sores, is that a problem for {routine}",
        "allergy",
        routine=ROUTINE,
    ),
    T(
        "none",
        "self",
        "I'm terrified of the dentist, my heart races just thinking about {routine}",
        "dental_anxiety",
        routine=ROUTINE,
    ),
    T(
        "none",
        "self",
        "I get panicky and shaky in the chair, can I have sedation for {routine}?",
        "dental_anxiety",
        routine=ROUTINE,
    ),
    T(
        "none",
        "self",
        "I nearly fainted at the sight of the needle last time, can you numb the gum first?",
        "dental_anxiety",
    ),
    T(
        "none",
        "other",
        "{Nis} so scared of the drill {P} shake{s} like a leaf, can you go gently",
        "dental_anxiety",
    ),
    T("none", "any", "{poss} {tooth} is killing me, can I get in {day}?", "toothache", tooth=TOOTH, day=DAY),
    T("none", "any", "worst toothache ever but no swelling, need an appointment {day}", "toothache", day=DAY),
    T(
        "none",
        "any",
        "chipped {poss} {tooth} a bit, no pain, can you smooth it {day}",
        "routine_dental",
        tooth=TOOTH,
        day=DAY,
    ),
    T("none", "any", "lost a filling {time}, it doesn't hurt", "routine_dental", time=TIME),
    T("none", "any", "{poss} gums bleed a little when brushing", "routine_dental"),
    T(
        "none",
        "child",
        "{poss} wobbly baby tooth finally fell out {time}, do we need to come in?",
        "routine_dental",
        time=TIME,
    ),
    T("none", "any", "{poss} crown came off {time}, no pain", "routine_dental", time=TIME),
    T("none", "other", "{N} won't wake up for school in the mornings, can we book after 4", "habit"),
    T(
        "none",
        "other",
        "{N} passed out on the sofa after a long shift, can you text instead of calling",
        "habit",
    ),
    T("none", "any", "out of breath from running here, sorry I'm late", "exertion"),
    T("none", "any", "I get a bit breathless on the stairs up to your office, is there a lift?", "exertion"),
]
