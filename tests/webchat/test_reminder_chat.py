"""Replies to a reminder over the web chat of a real `frontdesk serve` process: the e-mail's reschedule
link opens the widget on that booking (its patient identified by the link), and what the patient
says there is read like a text answering the reminder: a late notice, a yes, a move."""

from __future__ import annotations

import re
from datetime import date, datetime

import httpx
import pytest
import socketio

from tests.e2e.test_workspace import weekday_ahead
from tests.support.reminders import appointment_now, remind_by_email, smtp  # noqa: F401 - fixture
from tests.webchat.test_webchat_socket import Client


async def said(client: Client, text: str) -> str:
    """The replies to `text`: the server emits them all before it acknowledges the message."""
    before = len(client.messages)
    await client.sio.call("message", {"text": text})
    await client.wait_for(before + 2)
    return " ".join(m["text"] for m in client.messages[before + 1 :])


async def widget_key_of(live_server, path: str) -> str:
    """The chat widget's key on the page a reschedule link opens."""
    async with httpx.AsyncClient(base_url=live_server.base_url) as web:
        page = await web.get(path)
    assert page.status_code == 200 and "Tell us in the chat" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    return re.search(r'data-key="(rl_[^"]+)"', page.text).group(1)


async def test_the_reschedule_link_opens_the_chat_where_reminder_replies_are_understood(
    live_server,
    db,
    settings,
    smtp,  # noqa: F811
):
    day = weekday_ahead(9)
    visit = await remind_by_email(db, settings, live_server, smtp, day, "Rita Linkmove")
    move = visit.link("Move it in our chat")
    assert visit.reference not in move and visit.appointment_id not in move

    key = await widget_key_of(live_server, move)

    client = Client()
    await client.connect(live_server.base_url, key, origin=live_server.base_url)
    hello = await client.sio.call("hello", {"last_seq": 0})
    [greeting] = hello["messages"]
    assert (
        greeting["text"].startswith("Hello Rita!")
        and "Which day and time would suit you better?" in (greeting["text"])
    )

    late = await said(client, "running 10 min late, stuck in traffic")
    assert "about 10 minutes late" in late
    assert (await appointment_now(db, visit.appointment_id))["late_minutes"] == 10

    coming = await said(client, "I'll be there")
    assert "is confirmed" in coming
    row = await appointment_now(db, visit.appointment_id)
    assert row["status"] == "confirmed" and row["confirmed_via"] == "web"

    asked = await said(client, "can I move it")
    assert "?" in asked and (await appointment_now(db, visit.appointment_id))["status"] == "confirmed"
    target = visit.free_after[-1]
    moment = date.fromisoformat(target["local_date"])
    hour, minute = map(int, target["local_time"].split(":"))
    clock = f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"
    offered = await said(client, f"{moment:%A} {moment:%B} {moment.day} at {clock.lower()}")
    assert clock in offered, offered
    done = await said(client, "yes")
    assert "Done! Your Check-up is now on" in done, "\n".join(m["text"] for m in client.messages)
    moved_to = (await appointment_now(db, visit.appointment_id))["starts_at"]
    assert moved_to == datetime.fromisoformat(target["starts_at"])
    await client.sio.disconnect()

    # The booking has moved: the old link opens nothing any more, on the page or in the widget.
    async with httpx.AsyncClient(base_url=live_server.base_url) as web:
        stale = await web.get(move)
    assert stale.status_code == 410 and "moved" in stale.text
    again = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect(live_server.base_url, key, origin=live_server.base_url)
    assert "moved" in str(again.refusal)


async def test_a_reschedule_link_opens_only_on_its_own_page(
    live_server,
    db,
    settings,
    smtp,  # noqa: F811
):
    visit = await remind_by_email(db, settings, live_server, smtp, weekday_ahead(9), "Otto Elsewhere")
    key = await widget_key_of(live_server, visit.link("Move it in our chat"))
    client = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(live_server.base_url, key, origin="https://evil.example")
    assert "its own page" in str(client.refusal)
    confirm_as_key = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await confirm_as_key.connect(
            live_server.base_url,
            "rl_" + visit.link("Confirm").removeprefix("/r/"),
            origin=live_server.base_url,
        )
    assert (await appointment_now(db, visit.appointment_id))["status"] == "booked"


async def test_a_yes_with_a_question_in_the_chat_is_recorded_and_answered_from_the_faq(
    live_server,
    db,
    settings,
    smtp,  # noqa: F811
):
    visit = await remind_by_email(db, settings, live_server, smtp, weekday_ahead(10), "Paula Parker")
    key = await widget_key_of(live_server, visit.link("Move it in our chat"))
    client = Client()
    await client.connect(live_server.base_url, key, origin=live_server.base_url)
    await client.sio.call("hello", {"last_seq": 0})

    answer = await said(client, "yes I'll be there, is there parking?")
    assert "is confirmed" in answer and "Maple Street Garage" in answer
    assert "didn't quite get that" not in answer
    row = await appointment_now(db, visit.appointment_id)
    assert row["status"] == "confirmed" and row["confirmed_via"] == "web"
    await client.sio.disconnect()
