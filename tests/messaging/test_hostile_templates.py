"""A tenant's template cannot break the server: whatever is typed, saving it is answered with 200,
or 422 and the reason, and the server answers other requests meanwhile. (How long each takes is
measured by bench/hostile_templates.py, not asserted here.)"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.workspace import new_clinic

# Building blocks of expensive or broken templates: huge repetition, deep loops, big ranges,
# powers, internals, unknown names and filters, unbalanced tags, plain text.
EXPRESSIONS = st.sampled_from(
    [
        '"a" * 100000000',
        "range(10**8)|length",
        "2 ** 100000",
        "first_name * 10**7",
        "first_name.__class__.__mro__",
        "lipsum(10**6)",
        '"x"|center(10**8)',
        "cycler",
        "first_name|upper",
        "(first_name ~ first_name) * 3000",
        "10 ** 10 ** 10",
        "undefined_thing",
        "[1] * 10**9",
    ]
)
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


@st.composite
def hostile_templates(draw: st.DrawFn) -> str:
    body = "{{ " + draw(EXPRESSIONS) + " }}"
    for _ in range(draw(st.integers(0, 3))):
        loop = draw(st.sampled_from(["range(1000)", '"x" * 4000', "range(10**6)", "[first_name] * 1000"]))
        body = "{% for i in " + loop + " %}" + body + "{% endfor %}"
    broken = draw(
        st.sampled_from(
            ["", "{% if %}", "{{", "{% endfor %}", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"]
        )
    )
    return draw(TEXT) + body + broken + draw(TEXT)


@pytest.fixture(scope="module")
async def owner(client):
    return await new_clinic(client)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=hostile_templates())
async def test_hostile_templates_are_refused_fast_and_the_server_keeps_answering(client, owner, source):
    async def save() -> dict:
        response = await owner.http.put(
            "/api/v1/message-templates/reminder/sms", json={"source": source}, headers=owner.headers()
        )
        assert response.status_code in (200, 422), (response.status_code, source)
        return response.json()

    async def meanwhile() -> int:
        return (await client.get("/health")).status_code

    saved, other = await asyncio.gather(save(), meanwhile())
    assert other == 200
    if "error" in saved:
        assert saved["error"]["code"] == "VALIDATION_ERROR" and saved["error"]["message"]
    else:
        assert len(saved["preview"]) <= 5000
