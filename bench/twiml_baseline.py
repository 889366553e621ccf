"""The baseline for bench/webhooks.py: a bare FastAPI endpoint answering an SMS webhook with empty
TwiML, with no signature check, no database and no queue.

Run by `python -m uvicorn bench.twiml_baseline:app --port PORT`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

app = FastAPI()
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@app.post("/twilio/sms")
async def inbound_sms(request: Request) -> Response:
    await request.form()
    return Response(content=EMPTY_TWIML, media_type="application/xml")
