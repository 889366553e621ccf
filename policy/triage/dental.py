"""The urgent dental level, after NHS and dental-practice guidance on urgent dental care.

Urgent (seen the same day): a knocked-out adult tooth, a broken tooth that hurts, bleeding after an
extraction that will not stop, severe toothache with a fever, facial or gum swelling from a tooth.
An emergency (A&E, or the emergency number): swelling that spreads to the eye or the neck or makes
it hard to swallow, breathe or open the mouth; bleeding after a procedure with signs of shock.
Routine, as guidance says: a chipped tooth without pain, a lost filling or crown, gums that bleed when
brushing, a baby tooth coming out by itself.

Each urgent category may carry first-aid advice from the same guidance, returned with the assessment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policy.triage.combinations import BLEEDING, SHOCK
from policy.triage.notes import Notes

_TOOTH = r"(?:tooth|teeth|toof|tooh|incisor|molar|wisdom|filling)"
# A filling or crown that comes out is routine; a tooth knocked out is not.
_WHOLE_TOOTH = r"(?:tooth|teeth|toof|tooh|incisor|molar)"
_DENTAL = re.compile(rf"\b(?:{_TOOTH}|gums?|abscess\w*|dental|dentist|extract\w*|socket)\b")
_SWOLLEN = r"(?:swell\w*|swolen|swollen|swole|puff\w*|blown up|huge|lump|bump)"
_SWELLING = re.compile(
    rf"\b(?:gums?|jaw|cheek|face|abscess)\b[^.!?]{{0,30}}\b{_SWOLLEN}\b|\b{_SWOLLEN}\b[^.!?]{{0,30}}"
    rf"\b(?:gums?|jaw|cheek|face|{_TOOTH}|abscess)\b|\b(?:abscess|pus)\b"
)
_SPREADING = re.compile(
    r"\b(?:eyes?|neck|swal\w*|breath\w*|can'?t open (?:his|her|my|their) mouth|spread\w*|closing)\b"
)
_KNOCKED_OUT = re.compile(
    rf"\bknock\w*\b[^.!?]{{0,30}}\b{_WHOLE_TOOTH}\b[^.!?]{{0,15}}\bout\b|\bknock\w* out\b[^.!?]{{0,20}}"
    rf"\b{_WHOLE_TOOTH}\b|\b{_WHOLE_TOOTH}\b[^.!?]{{0,25}}\b(?:knocked|came|fell|popped|come|got knocked)"
    rf" (?:clean |right |completely )?out\b|\blost (?:a|an|his|her|my|their|one of \w+) (?:front |adult |top "
    rf"|bottom )?{_WHOLE_TOOTH}\b|\bwhole tooth\b[^.!?]{{0,20}}\bout\b"
)
_NATURAL = re.compile(r"\b(?:wobbly|wiggly|loose|baby tooth|milk tooth|naturally|tooth fairy)\b")
_BROKEN = re.compile(
    rf"\b(?:broke|broken|break|cracked|snapped|split|shattered|chipped|fractured)\b[^.!?]{{0,30}}\b{_TOOTH}\b"
    rf"|\b{_TOOTH}\b[^.!?]{{0,30}}\b(?:broke|broken|cracked|snapped|split|shattered|in half|chipped)\b"
)
_BEYOND_A_CHIP = re.compile(r"\b(?:broke|broken|cracked|snapped|split|shattered|in half|nerve)\b")
_PAINLESS = re.compile(
    r"\b(?:doesn'?t|does not|don'?t|didn'?t|not|no|without|never) (?:really |even |at all )?(?:hurt"
    r"|pain\w*|ache|sore)"
)
_PAIN = re.compile(
    r"\b(?:hurts?|hurting|pain\w*|agony|agonising|agonizing|throbb\w*|killing|sharp|nerve|bleeding|sore"
    r"|sensitive|unbearable|excruciating)\b"
)
_AFTER_PROCEDURE = re.compile(
    r"\b(?:extract\w*|extration|socket|hole|pulled|wisdom|surgery|removed|(?:took|taken|pulled|had|got)"
    r" (?:\w+ ){0,2}out)\b"
)
_NOT_STOPPING = re.compile(
    r"\b(?:won'?t stop|wont stop|not stopping|hasn'?t stopped|can'?t (?:get|make) \w+ (?:\w+ )?to stop|keeps?"
    r"|still|again|for (?:an|over an|\d+|one|two) (?:hours?|min\w*)|all (?:day|night)|since)\b"
)
_TOOTHACHE = re.compile(
    rf"\btooth ?ache\b|\b{_TOOTH}\b[^.!?]{{0,30}}\b(?:pain\w*|ach\w*|hurt\w*|throbb\w*|agony|killing)\b"
    rf"|\b(?:pain\w*|ach\w*|agony)\b[^.!?]{{0,25}}\b{_TOOTH}\b|\btooth pain\b"
)
_BLEEDING = re.compile(BLEEDING)
_SHOCK = re.compile(SHOCK)
_FEVER = re.compile(r"\b(?:fever\w*|temper\w*|temp|shiver\w*|chills|hot and cold|3[89](?:\.\d)?)\b")

ADVICE = {
    "knocked_out_tooth": (
        "If it is an adult tooth, hold it by the crown (the white part), not the root; if it is clean, "
        "push it gently back into its socket and bite on a clean cloth. If you cannot, keep it in milk "
        "(or in the cheek, against the gum) and come in within the hour. Do not put a baby tooth back."
    ),
    "dental_bleeding": (
        "Bite firmly on a clean, damp gauze or handkerchief over the socket for 20 minutes without "
        "checking. Do not rinse, spit or drink through a straw."
    ),
    "broken_tooth": "Keep any pieces, rinse gently with warm water, and avoid chewing on that side.",
    "dental_swelling": (
        "If the swelling spreads to the eye or the neck, or it becomes hard to swallow or breathe, "
        "go to A&E or call the emergency number straight away."
    ),
    "dental_pain_fever": (
        "If a swelling spreads to the eye or the neck, or it becomes hard to swallow or breathe, go to "
        "A&E or call the emergency number straight away."
    ),
}


@dataclass(frozen=True)
class DentalFinding:
    category: str
    emergency: bool = False


def dental(notes: Notes) -> DentalFinding | None:
    """The urgent dental category of a (normalised) message, or whether it is a dental emergency."""
    message = notes.message
    swelling = notes.current(_SWELLING, "dental_swelling")
    if swelling is not None and _DENTAL.search(message):
        return DentalFinding("dental_infection" if notes.holds(_SPREADING) else "dental_swelling")
    # The bleeding is read in its context; the procedure is in the past by nature.
    if notes.current(_BLEEDING, "dental_bleeding") is not None and _AFTER_PROCEDURE.search(message):
        if notes.holds(_SHOCK):
            return DentalFinding("bleeding", emergency=True)
        if notes.holds(_NOT_STOPPING):
            return DentalFinding("dental_bleeding")
    knocked = notes.current(_KNOCKED_OUT, "knocked_out_tooth")
    if knocked is not None and not _NATURAL.search(message):
        return DentalFinding("knocked_out_tooth")
    broken = notes.current(_BROKEN, "broken_tooth")
    # A chip without pain is routine; a tooth broken, cracked or snapped is seen the same day.
    if (
        broken is not None
        and (notes.holds(_PAIN) or _BEYOND_A_CHIP.search(message))
        and not _PAINLESS.search(message)
    ):
        return DentalFinding("broken_tooth")
    if notes.current(_TOOTHACHE, "dental_pain_fever") is not None and notes.holds(_FEVER):
        return DentalFinding("dental_pain_fever")
    return None
