"""The webhooks in OpenAPI: one operation per event type under `webhooks`, with the headers we send
and the body's schema, so an integrator (or their generator) sees exactly what arrives."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import FastAPI, Header
from pydantic import BaseModel, Field, create_model

from backend.core.event_catalogue import CATALOGUE
from backend.events.envelopes import ENVELOPES, CustomerContact, Envelope

SIGNING = """
Signed per [Standard Webhooks](https://www.standardwebhooks.com/): verify `webhook-signature` with
the endpoint's `whsec_` secret (the `standardwebhooks` libraries do it in one call), reject a
`webhook-timestamp` more than five minutes old, and deduplicate on `webhook-id`, which is the same
for every retry and replay of an event. Answer 2xx within 10 seconds; anything else is retried with
backoff for about three days. Redirects are not followed.
"""


class PingData(BaseModel):
    webhook_endpoint_id: str


class PingEvent(Envelope):
    """Sent by the ping action to test an endpoint; no event behind it."""

    data: PingData  # type: ignore[assignment]


def _webhook_body(model: type[Envelope]) -> type[BaseModel]:
    return create_model(  # type: ignore[call-overload, no-any-return]
        model.__name__.removesuffix("Event") + "Webhook",
        __base__=model,
        customer=(
            CustomerContact | None,
            Field(
                default=None, description="Only for endpoints with `full` payloads, when the event names one"
            ),
        ),
    )


def _receiver(body_model: type[BaseModel]) -> Any:
    async def receiver(**_: Any) -> None:
        """(documentation only)"""

    header = inspect.Parameter.KEYWORD_ONLY
    receiver.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("body", header, annotation=body_model),
            inspect.Parameter("webhook_id", header, annotation=Annotated[str, Header(alias="webhook-id")]),
            inspect.Parameter(
                "webhook_timestamp", header, annotation=Annotated[str, Header(alias="webhook-timestamp")]
            ),
            inspect.Parameter(
                "webhook_signature",
                header,
                annotation=Annotated[
                    str,
                    Header(
                        alias="webhook-signature",
                        description="`v1,<base64>`; two, space-separated, in a rotation",
                    ),
                ],
            ),
        ],
        return_annotation=None,
    )
    return receiver


def document_webhooks(app: FastAPI) -> None:
    bodies = {event_type: _webhook_body(model) for event_type, model in ENVELOPES.items()}
    bodies["webhook.ping"] = PingEvent
    for event_type, body in bodies.items():
        cls = CATALOGUE.get(event_type)
        summary = cls.summary if cls is not None else PingEvent.__doc__ or ""
        version = cls.version if cls is not None else 1
        app.webhooks.post(
            event_type,
            summary=summary,
            description=f"`{event_type}`, version {version}.\n{SIGNING}",
            tags=[event_type.split(".")[0]],
            status_code=204,
        )(_receiver(body))
