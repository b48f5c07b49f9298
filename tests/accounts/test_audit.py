"""The audit trail: append-only events chained by SHA-256, verified by ``verify_audit``."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import RequestFactory

from accounts.choices import AuditAction
from accounts.models import AuditEvent, User
from accounts.selectors import audit_chain_verify
from accounts.services import GENESIS_HASH, audit_record

pytestmark = pytest.mark.django_db


def _three_events(user: User) -> list[AuditEvent]:
    return [audit_record(actor=user, action=AuditAction.SUBMISSION_UPLOADED,
                         organisation_code="RR8", target=f"submission:{n}", after={"n": n})
            for n in range(3)]


def test_an_event_records_who_where_what_before_and_after(submitter: User) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7")
    event = audit_record(actor=submitter, action=AuditAction.ROLE_CHANGED, organisation_code="RR8",
                         target="membership:1", before={"role": "provider_viewer"},
                         after={"role": "provider_submitter"}, request=request)
    event.refresh_from_db()
    assert (event.actor_id, event.actor_email, event.organisation_code, event.ip_address) == (
        submitter.pk, submitter.email, "RR8", "192.0.2.7")
    assert event.before == {"role": "provider_viewer"}
    assert event.after == {"role": "provider_submitter"}
    assert event.occurred_at is not None


def test_events_are_chained_each_to_the_previous_hash(submitter: User) -> None:
    first, second, third = _three_events(submitter)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]


def test_nhs_numbers_never_reach_an_event(submitter: User) -> None:
    event = audit_record(actor=submitter, action="test", target="line of 943 476 5919",
                         before={"nhs_number": "9434765919", "n": 9434765919},
                         after={"note": ["patient 943-476-5919"]})
    event.refresh_from_db()
    text = f"{event.target} {event.before} {event.after}"
    assert "9434765919" not in text.replace(" ", "").replace("-", "")
    assert event.before["nhs_number"] == "[NHS number]"


def test_an_anonymous_actor_is_recorded_as_nobody(db: None) -> None:
    from django.contrib.auth.models import AnonymousUser

    event = audit_record(actor=AnonymousUser(), action=AuditAction.SIGN_IN_FAILED,
                         after={"email": "someone@example.org"})
    assert event.actor_id is None and event.actor_email == ""


def test_an_event_rolls_back_with_the_change_it_records(submitter: User) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=submitter, action="test")
        raise RuntimeError
    assert not AuditEvent.objects.exists()


def test_verify_audit_passes_an_intact_chain(submitter: User, capsys) -> None:
    _three_events(submitter)
    call_command("verify_audit")
    assert "3 events" in capsys.readouterr().out


def _tamper(sql: str, params: list) -> None:
    """Change the table behind the application's back (as a superuser would)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_auditevent ENABLE TRIGGER USER")


def test_verify_audit_names_the_first_altered_event(submitter: User) -> None:
    events = _three_events(submitter)
    _tamper("UPDATE accounts_auditevent SET target = %s WHERE seq = %s", ["submission:999", 2])
    result = audit_chain_verify()
    assert (result.ok, result.seq) == (False, 2)
    assert "altered" in result.problem
    with pytest.raises(CommandError, match="#2") as raised:
        call_command("verify_audit")
    assert raised.value.returncode == 1
    assert events


def test_verify_audit_names_a_removed_event(submitter: User) -> None:
    _three_events(submitter)
    _tamper("DELETE FROM accounts_auditevent WHERE seq = %s", [2])
    result = audit_chain_verify()
    assert (result.ok, result.seq) == (False, 2)
    assert "missing" in result.problem


def test_verify_audit_names_a_removed_first_event(
        submitter: User) -> None:
    _three_events(submitter)
    _tamper("DELETE FROM accounts_auditevent WHERE seq = %s", [1])
    result = audit_chain_verify()
    assert (result.ok, result.seq) == (False, 1)


@pytest.mark.postgres
@pytest.mark.parametrize("sql", [
    "UPDATE accounts_auditevent SET target = 'x'",
    "DELETE FROM accounts_auditevent",
    "TRUNCATE accounts_auditevent",
])
def test_postgres_refuses_to_change_or_remove_audit_events(submitter: User, sql: str) -> None:
    _three_events(submitter)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.count() == 3


@pytest.mark.postgres
def test_postgres_revokes_update_delete_truncate_from_public(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege('public', 'accounts_auditevent', 'UPDATE'),"
            " has_table_privilege('public', 'accounts_auditevent', 'DELETE'),"
            " has_table_privilege('public', 'accounts_auditevent', 'TRUNCATE')")
        assert cursor.fetchone() == (False, False, False)
