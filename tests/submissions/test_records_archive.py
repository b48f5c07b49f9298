"""Superseded records leave the records table for Parquet; the diff, downloads and --rebuild
read them from there and give the same output as before."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.utils import timezone

from submissions import archive_services
from submissions.archive_services import records_archive_candidates, records_archive_superseded
from submissions.cycle.diff import version_compare, version_diff
from submissions.cycle.services import period_cut_off
from submissions.cycle.statistics import product_scan
from submissions.cycle.timetable import default_deadlines
from submissions.downloads import annotated_csv_rows, findings_csv_rows
from submissions.models import Record, Submission
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import hand_file, submit_at

pytestmark = pytest.mark.django_db

PROVISIONAL = default_deadlines(MONTH).provisional
LATER = timedelta(days=36)

# v1: five records; v2 changes two of them (report days), drops one and adds two.
V1 = [{"modality": "CT", "request": 42, "report": 3, "source": "01"},
      {"modality": "CT", "request": 0, "report": 0, "source": "01"},
      {"modality": "MRI", "request": 7, "report": 20, "source": "07"},
      {"modality": "CT", "request": 10, "report": 1, "source": "03"},
      {"modality": "US", "request": 5, "report": 10, "source": "04", "accession": "GONE1"}]
V2 = [{**V1[0], "report": 4}, V1[1], {**V1[2], "report": 21}, V1[3],
      {"modality": "US", "request": 1, "report": 1, "source": "01", "accession": "NEW01"},
      {"modality": "MRI", "request": 2, "report": 2, "source": "01", "accession": "NEW02"}]


@pytest.fixture
def versions(submitter, tmp_path):
    old = submit_at(submitter, hand_file(tmp_path / "v1.csv", V1), AS_OF)
    new = submit_at(submitter, hand_file(tmp_path / "v2.csv", V2), AS_OF + timedelta(hours=1))
    old.refresh_from_db()
    assert not old.is_live and new.is_live
    return old, new


def _outputs(old: Submission, new: Submission) -> dict:
    summary, rows = version_compare(old=old, new=new)
    stdout = StringIO()
    call_command("monthly_stats", "--month", "2026-06", "--cutoff", "provisional", "--rebuild",
                 stdout=stdout)
    return {"compare": (summary, rows), "diff": version_diff(old=old, new=new),
            "reverse": version_compare(old=new, new=old, kind="removed"),
            "old_scan": product_scan([old.pk], month=old.activity_month), "rebuild": json.loads(stdout.getvalue()),
            "findings": "".join(findings_csv_rows(old)),
            "annotated": "".join(annotated_csv_rows(old))}


def _archive() -> list:
    return records_archive_superseded(now=timezone.now() + LATER)


def test_diff_downloads_and_rebuild_are_the_same_after_archiving(versions) -> None:
    old, new = versions
    period_cut_off(actor=None, month=MONTH, kind="provisional", now=PROVISIONAL + timedelta(1))
    before = _outputs(old, new)
    assert (before["compare"][0].added, before["compare"][0].removed,
            before["compare"][0].changed) == (2, 1, 2)

    done = _archive()

    assert [a.submission_id for a in done] == [old.pk]
    old.refresh_from_db()
    assert old.records_archive.endswith(".records.parquet")
    assert old.records_archive_bytes == done[0].bytes > 0
    assert not Record.objects.filter(submission=old).exists()
    assert Record.objects.filter(submission=new).count() == len(V2)
    with old.file.storage.open(old.records_archive, "rb") as handle:
        assert pq.read_table(handle).num_rows == len(V1)
    assert _outputs(old, new) == before


def test_the_live_version_and_versions_a_cutoff_took_stay_in_the_table(submitter, tmp_path):
    taken = submit_at(submitter, hand_file(tmp_path / "a.csv", V1), AS_OF)
    period_cut_off(actor=None, month=MONTH, kind="provisional", now=PROVISIONAL + timedelta(1))
    live = submit_at(submitter, hand_file(tmp_path / "b.csv", V2), PROVISIONAL + timedelta(2))
    assert _archive() == []
    assert Record.objects.filter(submission__in=[taken, live]).count() == len(V1) + len(V2)


def test_a_version_a_cutoff_not_yet_run_would_take_is_not_archived(submitter, tmp_path):
    # v1 was live at the provisional deadline, v2 came after it, and the provisional cut-off
    # has not run yet (beat was down): it will take v1.
    old = submit_at(submitter, hand_file(tmp_path / "a.csv", V1), AS_OF)
    submit_at(submitter, hand_file(tmp_path / "b.csv", V2), PROVISIONAL + timedelta(hours=1))
    assert _archive() == []
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional",
                               now=PROVISIONAL + timedelta(hours=2))
    assert [v["submission_id"] for v in cutoff.manifest["versions"]] == [old.pk]
    assert _archive() == []
    assert Record.objects.filter(submission=old).count() == len(V1)


def test_records_stay_until_the_days_have_passed(versions) -> None:
    assert records_archive_superseded(now=timezone.now() + timedelta(days=34)) == []
    assert list(records_archive_candidates(now=timezone.now() + LATER)) == [versions[0]]


def test_a_dry_run_lists_and_changes_nothing(versions) -> None:
    stdout = StringIO()
    call_command("dids_archive_records", "--dry-run", "--days", "0", stdout=stdout)
    assert f"version {versions[0].pk}: would archive {len(V1)} records" in stdout.getvalue()
    assert Record.objects.filter(submission=versions[0]).count() == len(V1)
    call_command("dids_archive_records", "--days", "0", stdout=stdout)
    assert "1 version(s) archived" in stdout.getvalue()
    assert not Record.objects.filter(submission=versions[0]).exists()


def test_a_run_that_dies_before_the_delete_leaves_the_records_and_a_rerun_finishes(
        versions, monkeypatch) -> None:
    old, _ = versions

    def dies(submission: object) -> int:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(archive_services, "_table_count", dies)
    with pytest.raises(RuntimeError):
        _archive()
    old.refresh_from_db()
    assert old.records_archive == ""
    assert Record.objects.filter(submission=old).count() == len(V1)
    monkeypatch.undo()
    assert [a.submission_id for a in _archive()] == [old.pk]
    old.refresh_from_db()
    assert old.records_archive == archive_services.archive_name(old)
    assert not Record.objects.filter(submission=old).exists()
    assert _archive() == []  # a repeat finds nothing to do
