"""Each cut-off writes its product as pseudonymised Parquet in a hive layout that DuckDB reads
back whole, with the totals the cut-off's statistics (monthly_stats) give."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from submissions.cycle.extracts import pseudonym, pseudonym_array, pseudonyms
from submissions.cycle.product import PRODUCT_SCHEMA, product_path
from submissions.cycle.services import cutoffs_run_due, period_cut_off
from submissions.cycle.timetable import default_deadlines
from submissions.models import Record
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import submit_at

pytestmark = pytest.mark.django_db

KEY = "k" * 40
MAY, APRIL = date(2026, 5, 1), date(2026, 4, 1)


@pytest.fixture
def product_root(settings, tmp_path):
    settings.DIDS_PSEUDONYM_KEY = KEY
    settings.DIDS_PRODUCT_ROOT = str(tmp_path / "product")
    return tmp_path / "product"


@pytest.fixture
def cut(django_capture_on_commit_callbacks):
    """Take a cut-off; its product is written as the task it queues on commit writes it."""
    def take(month: date, kind: str):
        deadline = getattr(default_deadlines(month), kind)
        with django_capture_on_commit_callbacks(execute=True):
            return period_cut_off(actor=None, month=month, kind=kind,
                                  now=deadline + timedelta(minutes=1))[0]
    return take


def _stats(month: date, kind: str) -> dict:
    out = StringIO()
    call_command("monthly_stats", "--month", f"{month:%Y-%m}", "--cutoff", kind, stdout=out)
    return json.loads(out.getvalue())


def test_duckdb_reads_the_product_with_the_totals_of_monthly_stats(
        product_root, submitter, make_file, cut) -> None:
    may_deadline = default_deadlines(MAY).provisional
    submit_at(submitter, make_file(rows=40, seed=3, month=MAY), may_deadline - timedelta(days=2))
    submit_at(submitter, make_file(rows=60, seed=4), AS_OF)
    submit_at(submitter, make_file(rows=70, seed=5), AS_OF + timedelta(hours=1))
    cutoffs = [cut(APRIL, "provisional"), cut(MAY, "provisional"), cut(MONTH, "provisional"),
               cut(MONTH, "final")]
    assert all(product_path(c).is_file() for c in cutoffs)
    assert (product_root / "month=2026-06" / "cutoff=final" / "part-0.parquet").is_file()

    glob = f"{product_root}/**/*.parquet"
    db = duckdb.connect()
    scan = f"read_parquet('{glob}', hive_partitioning=true)"
    totals = dict(db.sql(f"SELECT month || '/' || cutoff, count(*) FROM {scan} "
                         "GROUP BY ALL").fetchall())
    assert totals == {f"{c.period.activity_month:%Y-%m}/{c.kind}": c.record_count
                      for c in cutoffs if c.record_count}
    for cutoff in cutoffs:
        month, kind = cutoff.period.activity_month, cutoff.kind
        stats = _stats(month, kind)
        where = f"WHERE month = '{month:%Y-%m}' AND cutoff = '{kind}'"
        by_modality = dict(db.sql(f"SELECT modality, count(*) FROM {scan} {where} "
                                  "GROUP BY ALL").fetchall())
        by_provider = dict(db.sql(f"SELECT provider, count(*) FROM {scan} {where} "
                                  "GROUP BY ALL").fetchall())
        assert by_modality == stats["by_modality"]
        assert by_provider == stats["by_provider"]
        assert sum(by_modality.values()) == stats["total"]
    # One schema for every file, the empty April product's included.
    for cutoff in cutoffs:
        assert pq.read_schema(product_path(cutoff)).remove_metadata() == PRODUCT_SCHEMA


def test_the_product_holds_pseudonyms_never_nhs_numbers(product_root, submitter, make_file, cut):
    submit_at(submitter, make_file(rows=20, seed=6), AS_OF)
    cutoff = cut(MONTH, "provisional")
    table = pq.read_table(product_path(cutoff))
    assert "nhs_number" not in table.column_names
    numbers = set(Record.objects.values_list("nhs_number", flat=True)) - {None}
    pseudonyms = set(table["nhs_number_pseudonym"].to_pylist()) - {None}
    assert pseudonyms == {pseudonym(n, KEY.encode()) for n in numbers}
    assert not any(p in numbers for p in pseudonyms)
    assert not list(product_path(cutoff).parent.glob(".*partial"))  # no temporary file left


def test_the_command_writes_the_product_of_a_cutoff_taken_before(
        settings, product_root, submitter, make_file, cut) -> None:
    settings.DIDS_PSEUDONYM_KEY = ""
    submit_at(submitter, make_file(rows=10, seed=7), AS_OF)
    cutoff = cut(MONTH, "provisional")
    assert not product_path(cutoff).exists()  # never written unpseudonymised
    settings.DIDS_PSEUDONYM_KEY = KEY
    out = StringIO()
    call_command("dids_write_product", "--month", "2026-06", stdout=out)
    assert "1 product file(s) written." in out.getvalue()
    assert pq.read_metadata(product_path(cutoff)).num_rows == cutoff.record_count == 10


def test_a_product_whose_task_was_lost_is_written_by_the_due_cutoffs_beat(
        product_root, submitter, make_file, cut) -> None:
    submit_at(submitter, make_file(rows=12, seed=8), AS_OF)
    cutoff = cut(MONTH, "provisional")
    product_path(cutoff).unlink()
    cutoffs_run_due(now=default_deadlines(MONTH).provisional + timedelta(hours=1))
    assert pq.read_metadata(product_path(cutoff)).num_rows == 12


@pytest.mark.parametrize("key", [b"", b"k" * 40, b"x" * 64, b"long key " * 20])
def test_pseudonyms_many_at_a_time_are_the_extracts_pseudonyms(key) -> None:
    numbers = ["9434765919", "4010232137", "9434765919", "", "1234567881"]
    assert pseudonyms(numbers, key) == [pseudonym(n, key) for n in numbers]
    column = pa.chunked_array([pa.array(numbers[:2]), pa.array([None, *numbers[2:]])])
    assert pseudonym_array(column, key).to_pylist() == [
        pseudonym(numbers[0], key), pseudonym(numbers[1], key), None,
        *(pseudonym(n, key) for n in numbers[2:])]
