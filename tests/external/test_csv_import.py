"""A CSV export of the clinic's own system: columns mapped from the headings, a preview with each
line's problems, the good lines imported, and the same file again changing nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tests.conftest import NY, at, local_day
from tests.support.db import rows, scalar
from tests.support.external import SOURCE
from tests.support.messaging import new_phone


def next_spring_forward() -> date:
    day = local_day(2)
    while (
        datetime(day.year, day.month, day.day, 12, tzinfo=NY).utcoffset()
        == datetime(day.year, day.month, day.day, 0, tzinfo=NY).utcoffset()
    ):
        day += timedelta(days=1)
    return day


def export(tenant) -> tuple[str, list[str]]:
    """Five lines as a practice system exports them; lines 4 and 6 have problems."""
    day = local_day(9)
    us = f"{day.month:02d}/{day.day:02d}/{day.year}"
    gap = next_spring_forward()
    phones = [new_phone() for _ in range(5)]
    text = "\n".join(
        [
            "Appointment ID,Start,End,Provider,Patient,Mobile,Status,Notes",
            f"P-1,{day} 09:00,{day} 09:30,Dr. Adams,Ann One,{phones[0]},Scheduled,",
            f'P-2,{us} 1:30 PM,2:15 PM,dr. baker,"Bo, Two",{phones[1]},confirmed,"says ""hi"""',
            f"P-3,{day} 10:00,{day} 10:30,Dr. Nobody,Cy Three,{phones[2]},booked,",
            f"P-4,{gap} 02:30,{gap} 03:00,Dr. Adams,Di Four,{phones[3]},booked,",
            f"P-5,{day}T11:00:00-05:00,{day}T11:30:00-05:00,Dr. Adams,Ed Five,{phones[4]},No Show,",
        ]
    )
    return text, phones


async def test_preview_then_import_the_good_lines_and_the_same_file_again_changes_nothing(client, db, tenant):
    text, phones = export(tenant)
    preview = await client.post(
        "/api/v1/external-appointments:csv-preview", json={"source": SOURCE, "csv": text}, headers=tenant.auth
    )
    assert preview.status_code == 200, preview.text
    seen = preview.json()
    assert seen["mapping"] == {
        "external_id": "Appointment ID",
        "starts_at": "Start",
        "ends_at": "End",
        "provider": "Provider",
        "name": "Patient",
        "phone": "Mobile",
        "status": "Status",
        "notes": "Notes",
    }
    assert (seen["rows"], seen["valid"]) == (5, 3)
    problems = {line["line"]: line["errors"] for line in seen["lines"] if line["errors"]}
    assert list(problems) == [4, 5]
    assert "no provider 'Dr. Nobody'" in problems[4][0]
    assert "does not exist on the clinic's clock" in problems[5][0]
    first = seen["lines"][0]
    assert (first["line"], first["provider"], first["patient"]) == (2, "Dr. Adams", "Ann One")
    assert first["starts_at"] == at(local_day(9), "09:00").isoformat()
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 0

    imported = await client.post(
        "/api/v1/external-appointments:csv-import", json={"source": SOURCE, "csv": text}, headers=tenant.auth
    )
    assert imported.status_code == 200, imported.text
    assert [(r["index"], r["result"]) for r in imported.json()["results"]] == [
        (2, "created"),
        (3, "created"),
        (4, "error"),
        (5, "error"),
        (6, "created"),
    ]
    stored = await rows(
        db,
        "SELECT a.external_id, a.starts_at, a.ends_at, a.status, a.notes, p.name AS provider, c.name, c.phone"
        " FROM appointments a JOIN providers p ON p.id = a.provider_id"
        " JOIN customers c ON c.id = a.customer_id WHERE a.tenant_id = :t ORDER BY a.external_id",
        t=tenant.id,
    )
    day = local_day(9)
    assert [(r["external_id"], r["starts_at"], r["provider"], r["status"]) for r in stored] == [
        ("P-1", at(day, "09:00"), "Dr. Adams", "booked"),
        ("P-2", at(day, "13:30"), "Dr. Baker", "confirmed"),
        ("P-5", at(day, "11:00"), "Dr. Adams", "no_show"),
    ]
    assert stored[1]["ends_at"] == at(day, "14:15") and stored[1]["name"] == "Bo, Two"
    assert stored[1]["notes"] == 'says "hi"' and stored[1]["phone"] == phones[1]

    before = await scalar(db, "SELECT count(*) FROM domain_events WHERE tenant_id = :t", t=tenant.id)
    again = await client.post(
        "/api/v1/external-appointments:csv-import", json={"source": SOURCE, "csv": text}, headers=tenant.auth
    )
    assert again.json()["counts"] == {"unchanged": 3, "error": 2}
    assert await scalar(db, "SELECT count(*) FROM domain_events WHERE tenant_id = :t", t=tenant.id) == before


async def test_columns_chosen_by_hand_day_first_dates_and_a_duration(client, db, tenant):
    day = local_day(12)
    text = "\n".join(
        [
            "ref;when;mins;doc;who;mail",
            f"X1;{day.day:02d}/{day.month:02d}/{day.year} 16:00;45;Dr. Baker;Flo Six;flo@example.org",
        ]
    )
    mapping = {
        "external_id": "ref",
        "starts_at": "when",
        "duration_minutes": "mins",
        "provider": "doc",
        "name": "who",
        "email": "mail",
    }
    response = await client.post(
        "/api/v1/external-appointments:csv-import",
        json={"source": SOURCE, "csv": text, "mapping": mapping, "date_order": "day_first"},
        headers=tenant.auth,
    )
    assert response.json()["counts"] == {"created": 1}, response.text
    [row] = await rows(db, "SELECT starts_at, ends_at FROM appointments WHERE tenant_id = :t", t=tenant.id)
    assert (row["starts_at"], row["ends_at"]) == (at(day, "16:00"), at(day, "16:45"))


async def test_a_file_that_is_not_csv_or_a_mapping_that_does_not_fit_is_refused_whole(client, db, tenant):
    text, _ = export(tenant)
    cases = {
        "unterminated quote": (text + '\nP-9,"2027-01-01 10:00,x', None, "is not valid CSV"),
        "no such column": (text, {"external_id": "Ref", "starts_at": "Start"}, "no column called 'Ref'"),
        "a field left out": (
            text,
            {"external_id": "Appointment ID", "starts_at": "Start"},
            "choose the column",
        ),
        "headings only": ("Appointment ID,Start\n", None, "choose the column"),
        "empty": ("\n\n", None, "at least 1 character"),
        "NUL": (text.replace("Ann", "A\x00nn"), None, "NUL"),
    }
    for case, (csv_text, mapping, words) in cases.items():
        body = {"source": SOURCE, "csv": csv_text, **({"mapping": mapping} if mapping else {})}
        response = await client.post(
            "/api/v1/external-appointments:csv-import", json=body, headers=tenant.auth
        )
        assert response.status_code == 422, (case, response.text)
        assert words in response.json()["error"]["message"], (case, response.text)
    short = (
        "Appointment ID,Start,End,Provider,Patient,Mobile\nP-1,2030-01-02 10:00,2030-01-02 10:30,Dr. Adams,Al"
    )
    response = await client.post(
        "/api/v1/external-appointments:csv-import", json={"source": SOURCE, "csv": short}, headers=tenant.auth
    )
    assert response.json()["results"][0]["error"]["message"] == "line 2 has 1 fewer cells than columns"
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 0
