"""dids_portal.lib.prepared: a statement prepared once a connection, and what a failed try leaves."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from dids_portal.lib import prepared

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's PREPARE")]

DOUBLE = prepared.Statement("dids_test_double", "SELECT $1::bigint * 2, $2::text || '%%'",
                            ("bigint", "text"))
COUNT = prepared.Statement("dids_test_count", "SELECT count(*) FROM dids_test_later WHERE n > $1",
                           ("bigint",))


def run(statement: prepared.Statement, *params: object) -> tuple[list[str], tuple]:
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        prepared.execute(cursor, connection, statement, params)
        row = cursor.fetchone()
    return [q["sql"].split()[0] for q in queries.captured_queries], row


@pytest.fixture(autouse=True)
def fresh():
    for statement in (DOUBLE, COUNT):
        prepared.forget(connection, statement.name)
    yield
    for statement in (DOUBLE, COUNT):
        prepared.forget(connection, statement.name)


def test_prepared_in_the_first_round_trip_then_executed_by_name(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    assert run(DOUBLE, 21, "a") == (["PREPARE"], (42, "a%"))
    assert run(DOUBLE, 5, "b") == (["EXECUTE"], (10, "b%"))


@pytest.mark.parametrize("settings", [{"CONN_MAX_AGE": 0},
                                      {"CONN_MAX_AGE": 60, "DISABLE_SERVER_SIDE_CURSORS": True}])
def test_without_a_connection_of_its_own_the_statement_itself_each_time(monkeypatch, settings):
    for key, value in settings.items():
        monkeypatch.setitem(connection.settings_dict, key, value)
    assert run(DOUBLE, 21, "a") == (["SELECT"], (42, "a%"))
    assert run(DOUBLE, 1, "b") == (["SELECT"], (2, "b%"))


def test_a_failed_run_after_its_prepare_took_is_executed_by_name_after_asking(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    with pytest.raises(DatabaseError), transaction.atomic():
        run(DOUBLE, "not a number", "a")  # PREPARE takes, EXECUTE fails; the rollback keeps it
    assert run(DOUBLE, 2, "c") == (["SELECT", "EXECUTE"], (4, "c%"))
    assert run(DOUBLE, 3, "d") == (["EXECUTE"], (6, "d%"))


def test_a_prepare_that_failed_is_tried_again(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    with pytest.raises(DatabaseError), transaction.atomic():
        run(COUNT, 0)  # no such table yet: nothing prepared
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE dids_test_later (n bigint)")
        cursor.execute("INSERT INTO dids_test_later VALUES (1), (2), (3)")
    assert run(COUNT, 1) == (["SELECT", "PREPARE"], (2,))
    assert run(COUNT, 0) == (["EXECUTE"], (3,))
