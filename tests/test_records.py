"""Registrations for operators: search, edits with history, stage changes that notify the
person in their language, embassy CSV exports; and the console and API routes over them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from bot import registrations
from bot.registrations import (
    ExportQuery,
    RecordError,
    RegistrationEdit,
    RegistrationQuery,
    StageChange,
)
from bot.registrations import export as registration_export
from bot.registrations import lookup as registration_lookup
from bot.reports import DateRange
from bot.runtime import Runtime
from bot.storage.models import (
    AuditEvent,
    Contact,
    Direction,
    Message,
    MessageStatus,
    Registration,
)
from tests.conftest import RuntimeFactory
from tests.console_support import api_token, create_operator, sign_in
from tests.fakes.twilio_api import running_fake_twilio

TRIPOLI = ZoneInfo("Africa/Tripoli")


# -- seeding (shared with the broadcast and report tests) -----------------------------------


async def person(
    runtime: Runtime,
    channel: str,
    address: str,
    *,
    language: str | None = "en",
    opted_out: bool = False,
    last_inbound_at: datetime | None = None,
    city: str | None = None,
) -> int:
    """A contact as the channels make them."""
    contact = await runtime.store.contact_for(channel, address)
    async with runtime.db.session() as session, session.begin():
        await session.execute(
            update(Contact)
            .where(Contact.id == contact.id)
            .values(
                language=language,
                opted_out=opted_out,
                last_inbound_at=last_inbound_at,
                city=city,
            )
        )
    return contact.id


async def register(
    runtime: Runtime,
    name: str,
    *,
    country: str = "NG",
    contact_id: int | None = None,
    collected_by: int | None = None,
    phone: str | None = None,
    city: str | None = "Tripoli",
    sex: str | None = "male",
    age: int | None = 30,
    language: str = "en",
    channel: str = "rest",
    priority: str = "normal",
    needs_review: bool = False,
    created_at: datetime | None = None,
    stage: str | None = None,
    **answers: Any,
) -> Registration:
    """A registration through the case service the registration flow uses."""
    case = await runtime.registrations.register(
        answers={
            "name": name,
            "country": country,
            "age": age,
            "birth_year": (datetime.now(UTC).year - age) if age is not None else None,
            "sex": sex,
            "phone": phone,
            "city": city,
            **answers,
        },
        contact_id=contact_id,
        collected_by=collected_by,
        priority=priority,
        vulnerabilities=["detained"] if answers.get("detained") else [],
        needs_review=needs_review,
        language=language,
        channel=channel,
    )
    assert not case.existing
    async with runtime.db.session() as session, session.begin():
        row = await session.scalar(
            select(Registration).where(Registration.reference == case.reference)
        )
        assert row is not None
        if created_at is not None:
            row.created_at = created_at
        if stage is not None:
            row.stage = stage
    return row


async def outbound(runtime: Runtime, contact_id: int | None = None) -> list[Message]:
    async with runtime.db.session() as session:
        query = select(Message).where(Message.direction == Direction.OUTBOUND)
        if contact_id is not None:
            query = query.where(Message.contact_id == contact_id)
        return list(await session.scalars(query.order_by(Message.id)))


async def audits(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows)


def query(**raw: str) -> RegistrationQuery:
    return RegistrationQuery.parse(raw, TRIPOLI)


async def found(runtime: Runtime, **raw: str) -> list[str]:
    page = await registrations.search(runtime.db, query(**raw), TRIPOLI, per_page=200)
    return [item.full_name for item in page.items]


# -- search ---------------------------------------------------------------------------------


async def test_search_by_every_filter(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    amina = await register(
        runtime, "Amina Bello", country="NG", city="Sebha", sex="female",
        phone="+218912345678", priority="high", created_at=now - timedelta(days=40),
    )  # fmt: skip
    await register(runtime, "Moussa Diallo", country="ML", city="Tripoli", stage="screening")
    await register(runtime, "Abdi Hassan", country="SO", needs_review=True, city="Misrata")
    await register(runtime, "عائشة محمد", country="SD", city="Sebha", language="ar")

    assert await found(runtime, nationality="ng") == ["Amina Bello"]
    assert sorted(await found(runtime, city="Sabha")) == ["Amina Bello", "عائشة محمد"]
    assert await found(runtime, stage="screening") == ["Moussa Diallo"]
    assert await found(runtime, priority="high") == ["Amina Bello"]
    assert await found(runtime, needs_review="yes") == ["Abdi Hassan"]
    # the phone in any common writing finds the registration by its keyed hash
    assert await found(runtime, phone="0912345678") == ["Amina Bello"]
    assert await found(runtime, phone="+218 91 234 5678") == ["Amina Bello"]
    assert await found(runtime, phone="+218919999999") == []
    # references: whole, without prefix, partial, and as keypad digits
    assert await found(runtime, reference=amina.reference) == ["Amina Bello"]
    assert await found(runtime, reference=amina.reference.lower()[3:]) == ["Amina Bello"]
    assert await found(runtime, reference=amina.reference_keypad) == ["Amina Bello"]
    # names are decrypted and matched without case or accents, in any script
    assert await found(runtime, name="amina") == ["Amina Bello"]
    assert await found(runtime, name="MOUSSA diallo") == ["Moussa Diallo"]
    assert await found(runtime, name="عائشه") == ["عائشة محمد"]  # ة/ه folded
    assert await found(runtime, name="amina", nationality="ML") == []
    # a date range in the operators' days
    today = datetime.now(TRIPOLI).date()
    recent = await found(runtime, date_from=(today - timedelta(days=7)).isoformat())
    assert sorted(recent) == ["Abdi Hassan", "Moussa Diallo", "عائشة محمد"]
    old = (today - timedelta(days=40)).isoformat()
    assert await found(runtime, date_from=old, date_to=old) == ["Amina Bello"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"nationality": "Narnia"}, "nationality"),
        ({"city": "Paris"}, "city"),
        ({"stage": "flying"}, "stage"),
        ({"phone": "call me"}, "phone"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2025-05-02", "date_to": "2025-05-01"}, "date_from"),
        ({"priority": "urgent"}, "priority"),
    ],
)
def test_bad_filters_are_named(raw: dict[str, str], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        query(**raw)
    assert field in caught.value.errors


async def test_paging_and_the_bounded_name_scan(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(7):
        await register(runtime, f"Person Number {'abcdefg'[i]}", phone=f"+21891000000{i}")
    first = await registrations.search(runtime.db, query(), TRIPOLI, page=1, per_page=3)
    third = await registrations.search(runtime.db, query(), TRIPOLI, page=3, per_page=3)
    assert (first.total, first.pages, len(first.items), len(third.items)) == (7, 3, 3, 1)
    assert first.items[0].full_name == "Person Number g"  # newest first
    monkeypatch.setattr(registration_lookup, "NAME_SCAN_LIMIT", 4)
    page = await registrations.search(runtime.db, query(name="person"), TRIPOLI)
    assert page.name_scan_truncated and page.total == 4  # said, not hidden
    narrowed = await registrations.search(runtime.db, query(name="number a"), TRIPOLI)
    assert narrowed.total == 0 and narrowed.name_scan_truncated  # the oldest is out of reach


# -- editing ------------------------------------------------------------------------------


async def test_edits_are_validated_recorded_and_audited(runtime: Runtime) -> None:
    operator = await create_operator(runtime, "olu", "operator")
    row = await register(runtime, "Ibrahim Musa", phone="+218912000001", city="Tripoli")
    changed = await registrations.edit_registration(
        runtime.db,
        row.id,
        RegistrationEdit(
            full_name="Ibrahim Musa",  # unchanged: not in the history
            city="sabha",
            age=31,
            phone="0925550000",
            detained=True,
            vulnerabilities=["detained", "disability"],
        ),
        operator,
    )
    assert changed == ["age", "phone", "city", "detained", "vulnerabilities"]
    detail = await registrations.get_registration(runtime.db, row.id)
    assert (detail.city, detail.age, detail.phone) == ("Sebha", 31, "+218925550000")
    assert detail.vulnerabilities == ["disability", "detained"]
    history = {c.field: (c.old_value, c.new_value, c.operator) for c in detail.changes}
    assert history["city"] == ("Tripoli", "Sebha", "olu")
    assert history["phone"] == ("+218912000001", "+218925550000", "olu")
    assert history["detained"] == ("no", "yes", "olu")
    # the new phone finds the case (hash updated), the old one does not
    assert await found(runtime, phone="0925550000") == ["Ibrahim Musa"]
    assert await found(runtime, phone="+218912000001") == []
    assert [c.reference for c in await runtime.registrations.by_phone("+218925550000")] == [
        row.reference
    ]
    # the audit says which fields, never their values
    [event] = await audits(runtime, "registration.edited")
    assert event.actor == f"operator:{operator}" and event.subject == row.reference
    assert event.details == {"fields": changed}
    assert "Sebha" not in str(event.details)
    # nothing new: nothing recorded
    assert (
        await registrations.edit_registration(
            runtime.db, row.id, RegistrationEdit(age=31), operator
        )
        == []
    )
    assert len(await audits(runtime, "registration.edited")) == 1


async def test_release_from_detention_clears_the_place(runtime: Runtime) -> None:
    operator = await create_operator(runtime, "olu", "operator")
    row = await register(runtime, "Musa Idris", detained=True, detention_place="Tariq al-Sikka")
    # the console form always sends every flag, in its own order: not a change by itself
    same_flags = RegistrationEdit(vulnerabilities=["detained"])
    assert await registrations.edit_registration(runtime.db, row.id, same_flags, operator) == []
    changed = await registrations.edit_registration(
        runtime.db, row.id, RegistrationEdit(detained=False), operator
    )
    assert changed == ["detained", "detention_place"]
    detail = await registrations.get_registration(runtime.db, row.id)
    assert detail.detention_place is None
    assert ("detention_place", "Tariq al-Sikka", "") in {
        (c.field, c.old_value, c.new_value) for c in detail.changes
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "Nigeria"}, "country"),
        ({"city": "Paris"}, "city"),
        ({"age": 140}, "age"),
        ({"age": -1}, "age"),
        ({"birth_year": 2999}, "birth_year"),
        ({"sex": "other"}, "sex"),
        ({"document": "visa"}, "document"),
        ({"phone": "not a number"}, "phone"),
        ({"passport_number": "A1"}, "passport_number"),
        ({"full_name": "12345"}, "full_name"),
        ({"vulnerabilities": ["rich"]}, "vulnerabilities"),
        ({"reference": "LY-AAAAAA"}, "reference"),  # not editable
    ],
)
def test_invalid_edits_are_refused(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RegistrationEdit(**values)
    assert caught.value.errors()[0]["loc"][0] == field


async def test_required_fields_cannot_be_cleared(runtime: Runtime) -> None:
    operator = await create_operator(runtime, "olu", "operator")
    row = await register(runtime, "Ibrahim Musa")
    with pytest.raises(RecordError) as caught:
        await registrations.edit_registration(
            runtime.db, row.id, RegistrationEdit(full_name=None), operator
        )
    assert "full_name" in caught.value.errors
    with pytest.raises(registrations.NotFound):
        await registrations.edit_registration(runtime.db, 99999, RegistrationEdit(age=3), operator)


# -- the case stage -------------------------------------------------------------------------


async def test_stage_change_tells_the_person_in_their_language(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    supervisor = await create_operator(runtime, "sara", "supervisor")
    contact = await person(runtime, "rest", "web-user-ar", language="ar")
    row = await register(runtime, "Fatima Ali", contact_id=contact, language="ar")
    flight = date.today() + timedelta(days=9)
    result = await registrations.set_stage(
        runtime, row.id, StageChange(stage="flight_scheduled", flight_date=flight), supervisor
    )
    assert (result.changed, result.notification, result.channel) == (True, "queued", "rest")
    catalogs = runtime.catalogs
    expected = catalogs.text(
        "ar",
        "case.stage_update",
        reference=row.reference,
        stage=catalogs.text("ar", "case.stage.flight_scheduled", date=flight),
    )
    [message] = await outbound(runtime, contact)
    assert (message.text, message.language, message.status) == (expected, "ar", "queued")
    assert message.payload["direction"] == "rtl"
    # the REST client collects it (the person's channel)
    answer = await client.get("/webhooks/rest/messages", params={"sender": "web-user-ar"})
    assert [m["text"] for m in answer.json()] == [expected]
    # the case-status flow reads the new stage and date
    case = await runtime.registrations.by_reference(row.reference)
    assert case is not None and (case.stage, case.flight_date) == ("flight_scheduled", flight)
    detail = await registrations.get_registration(runtime.db, row.id)
    assert {(c.field, c.old_value, c.new_value) for c in detail.changes} == {
        ("stage", "registered", "flight_scheduled"),
        ("flight_date", "", flight.isoformat()),
    }
    [event] = await audits(runtime, "registration.stage")
    assert event.details["notification"] == "queued" and event.subject == row.reference
    # the same stage again changes nothing and says nothing
    again = await registrations.set_stage(
        runtime, row.id, StageChange(stage="flight_scheduled", flight_date=flight), supervisor
    )
    assert (again.changed, again.notification) == (False, "unchanged")
    assert len(await outbound(runtime, contact)) == 1


async def test_stage_change_respects_opt_out_and_reaches_callers_by_sms(
    runtime: Runtime,
) -> None:
    supervisor = await create_operator(runtime, "sara", "supervisor")
    # opted out: the stage changes, nobody is written to
    quiet = await person(runtime, "telegram", "5551", language="fr", opted_out=True)
    row = await register(runtime, "Awa Traore", contact_id=quiet, language="fr", country="ML")
    result = await registrations.set_stage(
        runtime, row.id, StageChange(stage="screening"), supervisor
    )
    assert (result.changed, result.notification) == (True, "opted_out")
    assert await outbound(runtime) == []
    assert (await registrations.get_registration(runtime.db, row.id)).stage == "screening"
    # a caller: an SMS to the number they called from, in their language
    caller = await person(runtime, "voice", "+218913330000", language="ha")
    row = await register(runtime, "Sani Garba", contact_id=caller, language="ha", channel="voice")
    result = await registrations.set_stage(
        runtime, row.id, StageChange(stage="document_issued"), supervisor
    )
    assert (result.notification, result.channel) == ("queued", "sms")
    [sms] = await outbound(runtime)
    async with runtime.db.session() as session:
        sms_contact = await session.get(Contact, sms.contact_id)
    assert sms_contact is not None
    assert (sms_contact.channel, sms_contact.address) == ("sms", "+218913330000")
    assert sms.language == "ha" and row.reference in sms.text
    assert runtime.catalogs.text("ha", "case.stage.document_issued") in sms.text
    # registered by a mobilizer, no contact of their own: an SMS to the registered phone
    mobilizer = await person(runtime, "whatsapp", "+218914440000")
    row = await register(
        runtime, "Bala Usman", collected_by=mobilizer, phone="+218915550000", language="en"
    )
    result = await registrations.set_stage(
        runtime, row.id, StageChange(stage="fit_to_travel"), supervisor
    )
    assert (result.notification, result.channel) == ("queued", "sms")
    assert await outbound(runtime, mobilizer) == []  # not the mobilizer
    # nobody to reach
    row = await register(runtime, "No Phone", collected_by=mobilizer, phone=None)
    result = await registrations.set_stage(
        runtime, row.id, StageChange(stage="screening"), supervisor
    )
    assert result.notification == "no_channel"


def test_a_flight_needs_its_date() -> None:
    with pytest.raises(ValidationError):
        StageChange(stage="flight_scheduled")
    with pytest.raises(ValidationError):
        StageChange(stage="departed")


# -- embassy lists ------------------------------------------------------------------------


async def export_text(runtime: Runtime, query: ExportQuery, operator_id: int) -> tuple[bytes, int]:
    rows, last_id = await registrations.start_export(runtime.db, query, TRIPOLI, operator_id)
    body = b"".join(
        [chunk async for chunk in registrations.embassy_csv(runtime.db, query, TRIPOLI, last_id)]
    )
    return body, rows


async def test_embassy_csv_is_minimal_safe_and_audited(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registration_export, "_EXPORT_BATCH", 2)  # several batches
    supervisor = await create_operator(runtime, "sara", "supervisor")
    now = datetime.now(UTC)
    await register(
        runtime, "عبد الله أحمد", country="SD", phone="+218911110000", detained=True,
        detention_place="Tariq al-Sikka", document="valid", passport_number="P1234567",
        family=[{"relation": "wife", "age": 25}, {"relation": "son", "age": 3}],
    )  # fmt: skip
    await register(runtime, '=HYPERLINK("http://x")', country="SD", phone="+218911110001")
    await register(runtime, "@Sum Attack", country="SD", sex="female", stage="screening")
    await register(runtime, "Old Case", country="SD", created_at=now - timedelta(days=60))
    await register(runtime, "Other Country", country="NG")

    today = datetime.now(TRIPOLI).date()
    week = DateRange(today - timedelta(days=7), today)
    body, rows = await export_text(runtime, ExportQuery("SD", week), supervisor)
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == list(registrations.EXPORT_COLUMNS)
    assert rows == len(table) - 1 == 3
    by_name = {line[1]: dict(zip(table[0], line, strict=True)) for line in table[1:]}
    arabic = by_name["عبد الله أحمد"]
    assert arabic["nationality"] == "SD" and arabic["family_count"] == "2"
    assert arabic["detained"] == "yes" and arabic["passport_number"] == "P1234567"
    assert arabic["phone"] == "'+218911110000"  # a leading + is a formula to spreadsheets
    assert '\'=HYPERLINK("http://x")' in by_name
    assert "'@Sum Attack" in by_name
    assert "Tariq" not in body.decode("utf-8-sig")  # the detention place is not needed
    # a stage narrows the list
    body, rows = await export_text(runtime, ExportQuery("SD", week, "screening"), supervisor)
    assert rows == 1 and "@Sum Attack" in body.decode("utf-8-sig")
    # every export is audited: who, filters, how many rows, never the content
    first, second = await audits(runtime, "registration.export")
    assert first.actor == f"operator:{supervisor}"
    assert first.details["rows"] == 3 and first.details["nationality"] == "SD"
    assert first.details["date_from"] == week.start.isoformat()
    assert second.details["stage"] == "screening" and second.details["rows"] == 1
    assert "عبد" not in str(first.details)


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@a", "\tx", "\rx"])
def test_formula_cells_are_neutralised(value: str) -> None:
    assert registrations.csv_safe(value) == "'" + value


def test_export_needs_a_nationality_and_dates() -> None:
    with pytest.raises(RecordError) as caught:
        ExportQuery.parse({"nationality": "", "date_from": "", "date_to": ""}, TRIPOLI)
    assert {"nationality", "date_from"} <= set(caught.value.errors)


# -- routes -------------------------------------------------------------------------------


async def test_roles_on_registration_routes(runtime: Runtime, client: httpx.AsyncClient) -> None:
    operator = await create_operator(runtime, "olu", "operator")
    row = await register(runtime, "Ibrahim Musa", country="NG")
    token = await api_token(runtime, operator)
    auth = {"authorization": f"Bearer {token}"}
    # not signed in: the console sends to sign-in, the API answers 401
    page = await client.get("/console/registrations")
    assert page.status_code == 303 and page.headers["location"].startswith("/console/login")
    assert (await client.get("/api/v1/registrations")).status_code == 401
    # an operator reads and edits; stages and exports are for supervisors
    listed = await client.get("/api/v1/registrations", headers=auth, params={"nationality": "NG"})
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert (await client.get(f"/api/v1/registrations/{row.id}", headers=auth)).status_code == 200
    patched = await client.patch(f"/api/v1/registrations/{row.id}", headers=auth, json={"age": 33})
    assert patched.status_code == 200 and patched.json()["changed"] == ["age"]
    stage = await client.post(
        f"/api/v1/registrations/{row.id}/stage", headers=auth, json={"stage": "screening"}
    )
    assert stage.status_code == 403
    export = await client.get(
        "/api/v1/exports/embassy.csv",
        headers=auth,
        params={"nationality": "NG", "date_from": "2020-01-01", "date_to": "2030-01-01"},
    )
    assert export.status_code == 403
    assert await audits(runtime, "registration.export") == []
    await sign_in(client, "olu", "correct horse battery 1")
    assert (await client.get("/console/registrations/export")).status_code == 403
    assert (await client.get("/console/registrations")).status_code == 200


async def test_api_for_supervisors(runtime: Runtime, client: httpx.AsyncClient) -> None:
    supervisor = await create_operator(runtime, "sara", "supervisor")
    auth = {"authorization": f"Bearer {await api_token(runtime, supervisor)}"}
    contact = await person(runtime, "rest", "api-person", language="fr")
    row = await register(runtime, "Awa Traore", country="ML", contact_id=contact, language="fr",
                         phone="+218916660000")  # fmt: skip
    stage = await client.post(
        f"/api/v1/registrations/{row.id}/stage",
        headers=auth,
        json={"stage": "flight_scheduled", "flight_date": "2031-03-04"},
    )
    assert stage.status_code == 200, stage.text
    assert stage.json()["notification"] == "queued" and stage.json()["channel"] == "rest"
    missing_date = await client.post(
        f"/api/v1/registrations/{row.id}/stage", headers=auth, json={"stage": "flight_scheduled"}
    )
    assert missing_date.status_code == 422 and "detail" in missing_date.json()
    bad = await client.patch(f"/api/v1/registrations/{row.id}", headers=auth, json={"city": "Rome"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "city"
    cleared = await client.patch(
        f"/api/v1/registrations/{row.id}", headers=auth, json={"full_name": None}
    )
    assert cleared.status_code == 422
    assert (await client.get("/api/v1/registrations/999999", headers=auth)).status_code == 404
    # personal filters go in a POST body, never in the URL
    search = await client.post(
        "/api/v1/registrations/search", headers=auth, json={"phone": "0916660000"}
    )
    assert search.status_code == 200 and search.json()["items"][0]["reference"] == row.reference
    [event] = await audits(runtime, "registration.search")
    assert event.details == {"by": ["phone"], "results": 1}
    today = datetime.now(TRIPOLI).date().isoformat()
    export = await client.get(
        "/api/v1/exports/embassy.csv",
        headers=auth,
        params={"nationality": "ML", "date_from": today, "date_to": today},
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [line[0] for line in table[1:]] == [row.reference]
    bad_export = await client.get(
        "/api/v1/exports/embassy.csv",
        headers=auth,
        params={"nationality": "ZZ", "date_from": today, "date_to": today},
    )
    assert bad_export.status_code == 422


async def test_console_edit_stage_and_export(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await create_operator(runtime, "sara", "supervisor")
    contact = await person(runtime, "rest", "console-person", language="en")
    row = await register(
        runtime, "<script>alert(1)</script> Musa", contact_id=contact, country="NE",
        family=[{"relation": "<b>brother</b>", "age": 12}],
    )  # fmt: skip
    csrf = await sign_in(client, "sara", "correct horse battery 1")
    # migrants' text is escaped in the list and on the page
    listing = await client.get("/console/registrations", params={"nationality": "NE"})
    assert listing.status_code == 200
    assert "<script>alert(1)</script>" not in listing.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Musa" in listing.text
    page = await client.get(f"/console/registrations/{row.id}")
    assert "<b>brother</b>" not in page.text and "&lt;b&gt;brother&lt;/b&gt;" in page.text
    # an edit without the CSRF token is refused
    form = {"full_name": "Musa Ali", "country": "NE", "age": "40", "city": "Sebha"}
    assert (await client.post(f"/console/registrations/{row.id}", data=form)).status_code == 403
    # a bad value re-shows the form with the problem, nothing saved
    bad = await client.post(
        f"/console/registrations/{row.id}", data={**form, "csrf_token": csrf, "age": "400"}
    )
    assert bad.status_code == 422 and 'id="err-age"' in bad.text
    saved = await client.post(f"/console/registrations/{row.id}", data={**form, "csrf_token": csrf})
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert "Saved." in page.text and "Musa Ali" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Musa → Musa Ali" in page.text.replace(
        '</span> → <span dir="auto">', " → "
    ).replace('<span dir="auto">', "")
    staged = await client.post(
        f"/console/registrations/{row.id}/stage", data={"stage": "screening", "csrf_token": csrf}
    )
    assert staged.status_code == 303 and staged.headers["location"].endswith("done=queued")
    # a name search is a POST (kept out of URLs) and finds the edited name
    search = await client.post(
        "/console/registrations", data={"name": "musa ali", "csrf_token": csrf}
    )
    assert search.status_code == 200 and row.reference in search.text
    # the export form says why phone numbers start with an apostrophe, then streams a CSV
    form = await client.get("/console/registrations/export")
    assert form.status_code == 200 and 'id="formula-guard"' in form.text
    today = datetime.now(TRIPOLI).date().isoformat()
    export = await client.post(
        "/console/registrations/export",
        data={"nationality": "NE", "date_from": today, "date_to": today, "csrf_token": csrf},
    )
    assert export.status_code == 200 and export.content.startswith(b"\xef\xbb\xbf")
    assert "Musa Ali" in export.content.decode("utf-8-sig")
    missing = await client.post(
        "/console/registrations/export", data={"nationality": "", "csrf_token": csrf}
    )
    assert missing.status_code == 422 and "nationality" in missing.text


ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32


def twilio_overrides(base_url: str, **more: object) -> dict[str, object]:
    """Settings for the real Twilio senders against the local fake Twilio API."""
    return {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_phone_number": "+15005550006",
        "twilio_whatsapp_number": "+14155238886",
        "twilio_api_base_url": base_url,
        "public_base_url": "https://hotline.example.org",
        **more,
    }


async def test_a_caller_gets_the_stage_by_sms_through_twilio(
    make_runtime: RuntimeFactory,
) -> None:
    with running_fake_twilio(ACCOUNT_SID, AUTH_TOKEN) as (fake, base_url):
        runtime = await make_runtime(**twilio_overrides(base_url))
        supervisor = await create_operator(runtime, "sara", "supervisor")
        caller = await person(runtime, "voice", "+218917770000", language="fr")
        row = await register(runtime, "Yusuf Bello", contact_id=caller, channel="voice",
                             language="fr")  # fmt: skip
        await registrations.set_stage(runtime, row.id, StageChange(stage="travelled"), supervisor)
        assert await runtime.outbox.drain() == 1
        [sent] = fake.messages
        assert sent["To"] == "+218917770000" and sent["From"] == "+15005550006"
        assert row.reference in sent["Body"]
        assert runtime.catalogs.text("fr", "case.stage.travelled") in sent["Body"]
        [message] = await outbound(runtime)
        assert message.status == MessageStatus.SENT


def test_nationality_lists_put_the_common_nationalities_first() -> None:
    choices = registrations.country_choices()
    codes = [code for code, _ in choices]
    common = registrations.COMMON_NATIONALITIES
    first = codes[: len(common)]
    assert set(first) == common  # Nigeria, Sudan, Eritrea … before Afghanistan
    assert [name for code, name in choices[: len(common)]] == sorted(
        name for code, name in choices[: len(common)]
    )
    assert "AQ" not in codes and "BV" not in codes  # nobody is from Antarctica
    assert codes.index("AF") == len(common)


async def test_people_of_one_name_and_no_phone_are_not_one_case(runtime: Runtime) -> None:
    """Without a phone, the duplicate check has the person's conversation, or for those a
    mobilizer registers, the mobilizer and the age: the same person again is found, someone
    else of the same name is registered (a registration lost is worse than one made twice)."""
    own = (await runtime.store.contact_for("rest", "nophone-own")).id
    other = (await runtime.store.contact_for("rest", "nophone-other")).id
    mobilizer = (await runtime.store.contact_for("rest", "nophone-mobilizer")).id

    async def register(contact: int | None, collected_by: int | None, age: int) -> Any:
        return await runtime.registrations.register(
            answers={"name": "Mohamed Ali", "country": "SD", "city": "tripoli", "age": age},
            contact_id=contact,
            collected_by=collected_by,
            priority="normal",
            vulnerabilities=[],
            needs_review=False,
            language="en",
            channel="rest",
        )

    first = await register(own, None, 30)
    assert (await register(own, None, 30)).reference == first.reference
    assert not (await register(other, None, 30)).existing
    by_mobilizer = await register(None, mobilizer, 24)
    assert not by_mobilizer.existing
    assert (await register(None, mobilizer, 24)).reference == by_mobilizer.reference
    assert not (await register(None, mobilizer, 41)).existing
