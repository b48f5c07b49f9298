"""The audit trail: append-only events chained by SHA-256, verified by ``verify_audit``."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import RequestFactory

from accounts.audit import GENESIS_HASH, audit_chain_verify, audit_record
from accounts.choices import AuditAction
from accounts.models import AuditEvent, User

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
    assert AuditEvent.objects.get(seq=1).prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert [e.seq for e in (second, third)] == [first.seq + 1, first.seq + 2]


def test_nhs_numbers_never_reach_an_event(submitter: User) -> None:
    event = audit_record(actor=submitter, action="test", target="line of 943 476 5919",
                         before={"nhs_number": "9434765919", "n": 9434765919},
                         after={"note": ["patient 943-476-5919"]})
    event.refresh_from_db()
    text = f"{event.target} {event.before} {event.after}"
    assert "9434765919" not in text.replace(" ", "").replace("-", "")
    assert event.before["nhs_number"] == "[NHS number]"


def test_checksums_and_hashes_holding_ten_digits_reach_an_event_whole(submitter: User) -> None:
    sha = "9434765919" + "ab" * 27
    event = audit_record(actor=submitter, action="test", target=f"release:{sha}",
                         after={"records_checksum": "2575674446d6ba71", "sha256": sha})
    event.refresh_from_db()
    assert event.after == {"records_checksum": "2575674446d6ba71", "sha256": sha}
    assert event.target == f"release:{sha}"


def test_an_anonymous_actor_is_recorded_as_nobody(db: None) -> None:
    from django.contrib.auth.models import AnonymousUser

    event = audit_record(actor=AnonymousUser(), action=AuditAction.SIGN_IN_FAILED,
                         after={"email": "someone@example.org"})
    assert event.actor_id is None and event.actor_email == ""


def test_an_event_rolls_back_with_the_change_it_records(submitter: User) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=submitter, action="test")
        raise RuntimeError
    assert not AuditEvent.objects.filter(action="test").exists()


def test_verify_audit_passes_an_intact_chain(submitter: User, capsys) -> None:
    _three_events(submitter)
    call_command("verify_audit")
    assert f"{AuditEvent.objects.count()} events" in capsys.readouterr().out


def _tamper(sql: str, params: list) -> None:
    """Change the table behind the application's back (as a superuser would)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_auditevent ENABLE TRIGGER USER")


def test_verify_audit_names_the_first_altered_event(submitter: User) -> None:
    _first, second, _third = _three_events(submitter)
    _tamper("UPDATE accounts_auditevent SET target = %s WHERE seq = %s",
            ["submission:999", second.seq])
    result = audit_chain_verify()
    assert (result.ok, result.seq) == (False, second.seq)
    assert "altered" in result.problem
    with pytest.raises(CommandError, match=f"#{second.seq}") as raised:
        call_command("verify_audit")
    assert raised.value.returncode == 1


def test_verify_audit_names_a_removed_event(submitter: User) -> None:
    _first, second, _third = _three_events(submitter)
    _tamper("DELETE FROM accounts_auditevent WHERE seq = %s", [second.seq])
    result = audit_chain_verify()
    assert (result.ok, result.seq) == (False, second.seq)
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
    before = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.count() == before


@pytest.mark.postgres
def test_postgres_revokes_update_delete_truncate_from_public(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege('public', 'accounts_auditevent', 'UPDATE'),"
            " has_table_privilege('public', 'accounts_auditevent', 'DELETE'),"
            " has_table_privilege('public', 'accounts_auditevent', 'TRUNCATE')")
        assert cursor.fetchone() == (False, False, False)


def test_a_reference_release_load_is_one_audit_event(sample_reference: None) -> None:
    [event] = AuditEvent.objects.filter(action=AuditAction.REFERENCE_CHANGED)
    assert event.target.startswith("reference.referencerelease:")
    assert "summary" in event.after


def test_a_reference_edit_is_audited_with_its_reason_and_what_it_was_before(
        rr8, reference_admin: User) -> None:
    old_name = rr8.name
    rr8.name = "Leeds Teaching Hospitals"
    rr8._history_user = reference_admin
    rr8._change_reason = "Renamed"
    rr8.save()
    event = AuditEvent.objects.filter(action=AuditAction.REFERENCE_CHANGED).order_by("-seq")[0]
    assert event.target == "reference.organisation:RR8"
    assert event.actor_id == reference_admin.pk
    assert event.after == {"change": "changed", "reason": "Renamed",
                           "name": "Leeds Teaching Hospitals"}
    assert event.before == {"name": old_name}


def test_granting_a_role_is_audited(submitter: User, analyst: User) -> None:
    from accounts.choices import Role
    from accounts.services import membership_grant

    membership_grant(actor=analyst, user=submitter, role=Role.PROVIDER_VIEWER,
                     organisation_code="RCD", reason="Covering RCD")
    event = AuditEvent.objects.get(action=AuditAction.ROLE_GRANTED, organisation_code="RCD")
    assert event.actor_id == analyst.pk
    assert event.after["role"] == Role.PROVIDER_VIEWER


def test_changing_a_role_in_the_admin_is_audited(client, submitter: User) -> None:
    from accounts.choices import Role

    admin_user = User.objects.create_superuser("root@england.example.nhs.uk", "x" * 16)
    client.force_login(admin_user)
    membership = submitter.memberships.get()
    response = client.post(f"/admin/accounts/user/{submitter.pk}/change/", {
        "email": submitter.email, "full_name": submitter.full_name, "is_active": "on",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk), "memberships-0-user": str(submitter.pk),
        "memberships-0-role": Role.PROVIDER_VIEWER, "memberships-0-organisation": "RR8",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED)
    assert event.before["role"] == Role.PROVIDER_SUBMITTER
    assert event.after["role"] == Role.PROVIDER_VIEWER
    assert event.actor_id == admin_user.pk


def test_removing_a_role_in_the_admin_is_audited_through_the_service(client, submitter: User
                                                                      ) -> None:
    from accounts.choices import Role

    admin_user = User.objects.create_superuser("root@england.example.nhs.uk", "x" * 16)
    client.force_login(admin_user)
    membership = submitter.memberships.get()
    response = client.post(f"/admin/accounts/user/{submitter.pk}/change/", {
        "email": submitter.email, "full_name": submitter.full_name, "is_active": "on",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk), "memberships-0-user": str(submitter.pk),
        "memberships-0-role": Role.PROVIDER_SUBMITTER, "memberships-0-organisation": "RR8",
        "memberships-0-DELETE": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not submitter.memberships.exists()
    event = AuditEvent.objects.get(action=AuditAction.ROLE_REVOKED)
    assert event.actor_id == admin_user.pk
    assert event.before["role"] == Role.PROVIDER_SUBMITTER
    assert event.after == {"reason": "Changed in the admin"}

