"""What every catalogued event is: a type, a version, the id it is about and a summary, with data
that forbids fields it does not declare (backend/core/event_catalogue.py lists the types)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str]
    version: ClassVar[int] = 1
    # The field holding the id of what the event is about; its name less `_id` is the entity type.
    subject: ClassVar[str]
    summary: ClassVar[str]

    @property
    def entity_type(self) -> str:
        return self.subject.removesuffix("_id")

    @property
    def entity_id(self) -> str:
        return str(getattr(self, self.subject))
