"""Shapes of the FAQ API: an entry as written, as changed, and as read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from backend.core.schemas import Input, Output

MAX_QUESTIONS = 20
MAX_QUESTION_CHARS = 300
MAX_ANSWER_CHARS = 2000
# What the receptionist reads on every turn stays small: a clinic's FAQ, not a manual.
MAX_ENTRIES = 100

Topic = Literal[
    "address",
    "parking",
    "insurance",
    "prices",
    "payment",
    "what_to_bring",
    "visit_length",
    "cancellation_policy",
    "other",
]
Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]
Questions = Annotated[
    list[Question],
    Field(
        min_length=1,
        max_length=MAX_QUESTIONS,
        description="Ways patients ask it, one phrasing each (at least one)",
    ),
]
Answer = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ANSWER_CHARS,
        description="What the receptionist says, word for word",
    ),
]
Position = Annotated[int, Field(ge=0, le=10_000, description="Where it is listed, smallest first")]

_EXAMPLE = {
    "questions": ["Where can I park?", "Is there parking?", "parking near you"],
    "answer": "There's free parking behind the building; the entrance is on Elm Street.",
    "topic": "parking",
    "position": 20,
}


def _distinct(questions: list[str]) -> list[str]:
    seen: set[str] = set()
    for question in questions:
        folded = normal_question(question)
        if folded in seen:
            raise ValueError(f"the question {question!r} is listed twice")
        seen.add(folded)
    return questions


def normal_question(text: str) -> str:
    """A question as compared with others: case and spacing do not make it a new one."""
    return " ".join(text.casefold().split())


class FaqEntryIn(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    questions: Questions
    answer: Answer
    topic: Topic | None = Field(default=None, description="What it is about; none for anything else")
    position: Position = 0

    @field_validator("questions")
    @classmethod
    def _questions_differ(cls, questions: list[str]) -> list[str]:
        return _distinct(questions)


class FaqEntryPatch(Input):
    """The fields to change; the others stay. `questions` replaces the whole list; `topic: null`
    clears the topic."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"answer": "Free parking behind the building, off Elm Street."}]}
    )

    questions: Questions | None = None
    answer: Answer | None = None
    topic: Topic | None = None
    position: Position | None = None

    @field_validator("questions")
    @classmethod
    def _questions_differ(cls, questions: list[str] | None) -> list[str] | None:
        return None if questions is None else _distinct(questions)

    @model_validator(mode="after")
    def _no_empty_required(self) -> FaqEntryPatch:
        for name in ("questions", "answer", "position"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it")
        return self

    def changes(self) -> dict[str, object]:
        return self.model_dump(exclude_unset=True)


class FaqEntryOut(Output):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c2d4e-8a3b-4c1d-9e2f-0a1b2c3d4e5f",
                    **_EXAMPLE,
                    "created_at": "2026-12-01T14:03:00Z",
                    "updated_at": "2026-12-02T09:15:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    questions: list[str]
    answer: str
    topic: Topic | None
    position: int
    created_at: datetime
    updated_at: datetime
