"""The project's corpus (tests/conversations/scripts, in the format of docs/conversation-scripts.md)
run in-process by `backend.converse`'s runner: each script on a fresh clinic, typed through the
real HTTP chat API, or texted through signed webhooks answered by the inbox as the worker would."""

from __future__ import annotations

from pathlib import Path

from backend.converse.clinic import Clinic, new_clinic
from backend.converse.runner import Case, Outcome, give_number, read_cases, run_case
from backend.converse.talk import Heard, Talker
from tests.conftest import ADMIN_SECRET

ORIGIN = "https://clinic.example"
SCRIPTS_DIR = Path(__file__).parent / "scripts"


def corpus() -> list[Case]:
    return read_cases([SCRIPTS_DIR])


def explain(outcome: Outcome) -> str:
    script = outcome.case.script
    lines = [f"{script.name} ({script.channel}, {script.kind}):", *outcome.problems]
    lines += [f"  patient: {said}\n  receptionist: {reply}" for said, reply in outcome.transcript]
    return "\n".join(lines)


async def fresh_clinic(http, case: Case, *, with_number: bool = False) -> Clinic:
    assert case.clinic is not None, f"{case.file}: {case.script.name} has no clinic"
    clinic = await new_clinic(http, ADMIN_SECRET, case.clinic, origin=ORIGIN)
    if with_number:
        await give_number(clinic)
    return clinic


async def run(case: Case, clinic: Clinic, talker: Talker | None = None) -> Outcome:
    return await run_case(case, clinic, shared=False, talker=talker)


class PhonePatient:
    """The patient's phone through `tests.support.phone.Phones`: a signed webhook, the inbox and
    the outbox run at once, the texts read where the fake Twilio received them."""

    def __init__(self, phones, phone: str, practice: str) -> None:
        self.phones, self.phone, self.practice = phones, phone, practice

    async def say(self, text: str) -> Heard:
        return Heard(await self.phones.say(self.phone, self.practice, text))
