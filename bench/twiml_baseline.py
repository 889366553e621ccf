"""The baseline for bench/webhooks.py and bench/voice_load.py: bare FastAPI endpoints answering an
SMS webhook with empty TwiML and a voice webhook with a static question, with no signature check, no
database and no queue.

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


STATIC_QUESTION = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="speech dtmf" action="/turn" '
    'numDigits="1"><Say>How can I help?</Say></Gather></Response>'
)


@app.post("/twilio/voice")
async def inbound_call(request: Request) -> Response:
    await request.form()
    return Response(content=STATIC_QUESTION, media_type="application/xml")
