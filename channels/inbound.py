"""One input contract for every transport: what a patient's message may be before anything reads it.

Web chat (Socket.IO and its REST fallback), Twilio SMS and Twilio Voice all pass what they receive
through these limits, so no transport can hand the readers a longer or stranger text than another:
every reader downstream is linear in its input, and this is where the input's length is bounded.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel, Field, StrictInt, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from policy.input_limits import (
    MAX_CHOICE_CHARS,
    MAX_CLIENT_MESSAGE_ID_CHARS,
    MAX_CREDENTIAL_CHARS,
    MAX_SEQUENCE,
    MAX_TEXT_CHARS,
)

# Twilio's ids (MessageSid, CallSid, ...) are letters and digits (two letters and 32 hex digits today).
TWILIO_SID = re.compile(r"[A-Za-z0-9]{1,64}")
# Fields of a Twilio webhook that carry what the patient said: capped like chat text, not refused.
TWILIO_TEXT_FIELDS = frozenset({"Body", "SpeechResult", "UnstableSpeechResult"})
# Short fields we read (numbers, keypad digits, statuses, error codes): longer is not from Twilio.
TWILIO_SHORT_FIELDS = frozenset(
    {"From", "To", "Digits", "MessageStatus", "SmsStatus", "CallStatus", "ErrorCode"}
)
MAX_TWILIO_SHORT_CHARS = 64
# Everything else Twilio sends (media URLs, caller names, error messages) is kept, capped.
MAX_TWILIO_OTHER_CHARS = 2000
# PostgreSQL text cannot hold U+0000; other C0 controls (but tab and newline) mean nothing in a message.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
Contract = TypeVar("Contract", bound=BaseModel)


def too_long(limit: int) -> str:
    """What a patient is told about a message over the limit: kind, and what to do instead."""
    return (
        f"that message is too long for me to read in one go: please keep it under {limit:,} characters, "
        "or send it in parts"
    )


def clean_text(raw: str) -> str:
    """The text without control characters, trimmed: what every transport stores and reads."""
    return _CONTROL.sub("", raw).strip()


class ChatMessage(BaseModel):
    """A web chat message, the same over Socket.IO and over HTTP."""

    text: str = Field(min_length=1, description=f"At most {MAX_TEXT_CHARS} characters")
    choice: str | None = Field(
        default=None, max_length=MAX_CHOICE_CHARS, description="Value of the quick reply tapped"
    )
    client_message_id: str | None = Field(
        default=None,
        max_length=MAX_CLIENT_MESSAGE_ID_CHARS,
        description="The client's id for this message: a resend is answered once",
    )

    @field_validator("text", "choice", "client_message_id")
    @classmethod
    def _no_controls(cls, value: str | None) -> str | None:
        return None if value is None else _CONTROL.sub("", value)

    @field_validator("text")
    @classmethod
    def _not_too_long(cls, value: str) -> str:
        if len(value) > MAX_TEXT_CHARS:
            raise PydanticCustomError("too_long", too_long(MAX_TEXT_CHARS))
        return value


class ChatHello(BaseModel):
    """The first event of a Socket.IO connection: the last message the client has seen."""

    last_seq: StrictInt = Field(default=0, ge=0, le=MAX_SEQUENCE)


# A widget key, a conversation token or a hand-off link: printable ASCII, never longer than this.
_CREDENTIAL = re.compile(rf"[\x21-\x7e]{{1,{MAX_CREDENTIAL_CHARS}}}")


class ChatAuth(BaseModel):
    """What a Socket.IO connection presents: the widget key and, to resume, the conversation's token."""

    key: str
    token: str | None = None

    @field_validator("key", "token")
    @classmethod
    def _credential(cls, value: str | None) -> str | None:
        if value is not None and not _CREDENTIAL.fullmatch(value):
            raise ValueError(f"not one we issued (printable characters, at most {MAX_CREDENTIAL_CHARS})")
        return value


def chat_message(data: object) -> ChatMessage:
    """A Socket.IO payload as a ChatMessage; InvalidInput names the field that is wrong."""
    return _validated(ChatMessage, data, "message", 'send {"text": "..."}')


def chat_hello(data: object) -> ChatHello:
    return _validated(ChatHello, {} if data is None else data, "hello", 'send {"last_seq": 0}')


def chat_auth(data: object) -> ChatAuth:
    return _validated(ChatAuth, data, "auth", 'connect with {"key": "pk_live_…"}')


def _validated(model: type[Contract], data: object, name: str, usage: str) -> Contract:
    if not isinstance(data, dict):
        raise InvalidInput(name, usage)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or name
        raise InvalidInput(field, first["msg"]) from None


def twilio_form(form: dict[str, str]) -> dict[str, str]:
    """A Twilio webhook's fields, cleaned: control characters removed, what the patient said capped
    at MAX_TEXT_CHARS, ids checked. InvalidInput names a field no real Twilio request would send."""
    cleaned: dict[str, str] = {}
    for name, raw in form.items():
        value = _CONTROL.sub("", raw)
        if name in TWILIO_TEXT_FIELDS:
            value = value[:MAX_TEXT_CHARS]
        elif name.endswith("Sid"):
            if value and not TWILIO_SID.fullmatch(value):
                raise InvalidInput(name, "is not a Twilio id (at most 64 letters and digits)")
        elif name in TWILIO_SHORT_FIELDS:
            if len(value) > MAX_TWILIO_SHORT_CHARS:
                raise InvalidInput(name, f"is longer than {MAX_TWILIO_SHORT_CHARS} characters")
        else:
            value = value[:MAX_TWILIO_OTHER_CHARS]
        cleaned[name] = value
    return cleaned


class InvalidInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
