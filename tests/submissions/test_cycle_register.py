"""The compliance register, reminders, version diffs and the pseudonymised extract."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from django.core import mail

from reference.models import Organisation
from submissions.choices import ComplianceState, JobState, SubmissionStatus
from submissions.cycle.extract_services import extract_build, extract_create
from submissions.cycle.provider_months import provider_month_statuses
from submissions.cycle.selectors import compliance_register, version_diff
from submissions.cycle.services import period_cut_off, reminders_send
from submissions.cycle.timetable import LONDON, default_deadlines
from submissions.models import Extract, Reminder, Submission
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import hand_file, submit_at

DEADLINES = default_deadlines(MONTH)
KEY = "test-pseudonym-key-of-at-least-32-bytes"


def version(org: str, received_at: datetime, status: str = SubmissionStatus.ACCEPTED, *,
            month: date = MONTH, number: int = 1, live: bool | None = None) -> Submission:
    """A version row without a file: the register reads only versions' metadata."""
    accepted = status in (SubmissionStatus.ACCEPTED, SubmissionStatus.ACCEPTED_WITH_WARNINGS)
    return Submission.objects.create(
        organisation_id=org, activity_month=month, version=number, status=status,
        is_live=accepted if live is None else live, file="none", original_name="f.csv",
        size_bytes=1, sha256="0" * 64, received_at=received_at, as_of=received_at, rows=10,
        accepted_rows=10 if accepted else 0)


def states(register, month_index: int = 0) -> dict[str, str]:
    return {row.organisation_code: row.cells[month_index].state
            for row in register.rows if row.cells[month_index] is not None}


@pytest.fixture
def june(sample_reference):
    version("RR8", AS_OF)
    version("RCD", DEADLINES.provisional + timedelta(days=3))
    version("RJ1", AS_OF, SubmissionStatus.REJECTED)


@pytest.mark.django_db
def test_register_states_after_the_final_deadline(june):
    register = compliance_register(start=MONTH, end=MONTH, now=DEADLINES.final + timedelta(days=1))
    found = states(register)
    assert found["RR8"] == ComplianceState.ON_TIME
    assert found["RCD"] == ComplianceState.LATE
    assert found["RJ1"] == ComplianceState.REJECTED_ONLY
    assert found["RXH"] == ComplianceState.MISSING


@pytest.mark.django_db
def test_register_says_due_while_the_window_is_open(june):
    found = states(compliance_register(start=MONTH, end=MONTH,
                                       now=DEADLINES.provisional + timedelta(days=1)))
    assert found["RXH"] == ComplianceState.DUE
    assert found["RR8"] == ComplianceState.ON_TIME


@pytest.mark.django_db
def test_register_says_not_due_yet_during_the_month(sample_reference):
    found = states(compliance_register(start=MONTH, end=MONTH,
                                       now=datetime(2026, 6, 15, 12, tzinfo=LONDON)))
    assert set(found.values()) == {ComplianceState.NOT_DUE}


@pytest.mark.django_db
def test_upload_at_the_provisional_deadline_instant_is_on_time(sample_reference):
    version("RR8", DEADLINES.provisional)
    version("RCD", DEADLINES.provisional + timedelta(seconds=1))
    found = states(compliance_register(start=MONTH, end=MONTH, now=DEADLINES.final))
    assert (found["RR8"], found["RCD"]) == (ComplianceState.ON_TIME, ComplianceState.LATE)


@pytest.mark.django_db
def test_register_shows_live_version_and_quality(june):
    cell = next(r for r in compliance_register(start=MONTH, end=MONTH).rows
                if r.organisation_code == "RR8").cells[0]
    assert cell.live_version == 1
    assert cell.quality == 100.0


@pytest.mark.django_db
def test_quality_counts_rows_rejected_or_warned(submitter, make_file):
    submission = submit_at(submitter, make_file(rows=60, error_rate=0.2, seed=7), AS_OF)
    from submissions.models import Record

    clean = Record.objects.filter(submission=submission, warnings__isnull=True).count()
    cell = next(r for r in compliance_register(start=MONTH, end=MONTH).rows
                if r.organisation_code == "RR8").cells[0]
    assert cell.quality == round(100 * clean / submission.rows, 1) < 100


@pytest.mark.django_db
def test_quality_reads_the_stored_count_of_warned_records(sample_reference):
    live = version("RR8", AS_OF, SubmissionStatus.ACCEPTED_WITH_WARNINGS)
    live.warned_rows = 3
    live.save()
    cell = next(r for r in compliance_register(start=MONTH, end=MONTH).rows
                if r.organisation_code == "RR8").cells[0]
    assert cell.quality == 70.0


@pytest.mark.django_db
def test_register_filters_by_region_and_type(june):
    london = compliance_register(start=MONTH, end=MONTH, region="London")
    assert {r.organisation_code for r in london.rows} == {"RJ1", "RYX"}
    independent = compliance_register(start=MONTH, end=MONTH,
                                      organisation_type="independent_sector")
    assert {r.organisation_code for r in independent.rows} == {"NT3", "NVC"}


@pytest.mark.django_db
def test_merged_organisation_carries_its_history_to_the_successor(sample_reference):
    version("RDD", datetime(2020, 3, 20, tzinfo=LONDON), month=date(2020, 2, 1))
    register = compliance_register(start="2020-02", end="2020-04", organisation_code="RAJ",
                                   now=datetime(2021, 1, 1, tzinfo=LONDON))
    assert [r.organisation_code for r in register.rows] == ["RAJ", "RDD"]
    rdd = register.rows[1]
    assert rdd.carried_to == "RAJ"
    assert rdd.cells[0].state == ComplianceState.ON_TIME
    assert rdd.cells[1].state == ComplianceState.MISSING
    assert rdd.cells[2] is None  # merged away: not in scope from April 2020


@pytest.mark.django_db
def test_provider_month_statuses_show_live_version_and_what_each_cutoff_took(submitter, make_file):
    first = submit_at(submitter, make_file(rows=5, seed=1), AS_OF)
    period_cut_off(actor=None, month=MONTH, kind="provisional",
                   now=DEADLINES.provisional + timedelta(minutes=1))
    second = submit_at(submitter, make_file(rows=6, seed=2), DEADLINES.provisional + timedelta(days=1))
    statuses = provider_month_statuses(organisation_code="RR8", start=MONTH, end=MONTH,
                                       now=DEADLINES.provisional + timedelta(days=2))
    june = statuses[0]
    assert june.live_version == second.version == 2
    assert june.cutoffs["provisional"]["submission_id"] == first.pk
    assert "final" not in june.cutoffs
    assert [v["version"] for v in june.versions] == [2, 1]
    assert june.state == ComplianceState.ON_TIME and not june.locked


@pytest.mark.django_db
def test_version_diff_lists_added_removed_changed_and_modality_counts(submitter, tmp_path):
    rows = [{"modality": "CT", "request": 1, "report": 1} for _ in range(4)]
    old = submit_at(submitter, hand_file(tmp_path / "v1.csv", rows), AS_OF)
    new_rows = [dict(r) for r in rows[:3]]
    new_rows[1]["report"] = 2  # ACC00001 changes
    new_rows.append({"modality": "MRI", "request": 1, "report": 1, "accession": "NEW00001"})
    new = submit_at(submitter, hand_file(tmp_path / "v2.csv", new_rows), AS_OF)
    diff = version_diff(old=old, new=new)
    assert diff.added == [("RR815", "NEW00001")]
    assert diff.removed == [("RR815", "ACC00003")]
    assert diff.changed == [("RR815", "ACC00001")]
    assert diff.counts_by_modality == {"CT": {"before": 4, "after": 3},
                                       "MRI": {"before": 0, "after": 1}}


@pytest.mark.django_db
def test_reminders_go_only_to_organisations_that_still_owe(submitter, other_provider_user, june):
    # January 2026's final deadline is also 31 July 2026: both have sent January.
    version("RR8", datetime(2026, 2, 2, tzinfo=LONDON), month=date(2026, 1, 1))
    version("RCD", datetime(2026, 2, 2, tzinfo=LONDON), month=date(2026, 1, 1))
    rcd_june = Submission.objects.get(organisation_id="RCD", activity_month=MONTH)
    rcd_june.delete()  # RCD now owes June
    five_days_before = datetime(2026, 7, 24, 9, 0, tzinfo=LONDON)  # deadline Fri 31 July
    assert reminders_send(now=five_days_before - timedelta(days=1), days_before=5) == 0
    # Every organisation that owes is noted; only those with provider users get an e-mail.
    assert reminders_send(now=five_days_before, days_before=5) == 1
    assert [m.to for m in mail.outbox] == [["submitter@rcd.example.nhs.uk"]]
    assert "June 2026" in mail.outbox[0].subject
    assert reminders_send(now=five_days_before + timedelta(days=1), days_before=5) == 0
    assert len(mail.outbox) == 1
    reminded = set(Reminder.objects.filter(period__activity_month=MONTH)
                   .values_list("organisation_id", flat=True))
    assert {"RCD", "RJ1", "RXH"} <= reminded
    assert "RR8" not in reminded
    assert not Reminder.objects.filter(organisation_id__in=["RR8", "RCD"],
                                       period__activity_month=date(2026, 1, 1)).exists()


@pytest.fixture
def frozen(submitter, make_file):
    path = make_file(rows=25, seed=9)
    submit_at(submitter, path, AS_OF)
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional",
                               now=DEADLINES.provisional + timedelta(minutes=1))
    numbers = {line.split(",")[0] for line in path.read_text().splitlines()[1:]}
    return cutoff, numbers


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_extract_replaces_every_nhs_number_with_its_keyed_pseudonym(
        frozen, analyst, settings, django_capture_on_commit_callbacks, fmt):
    settings.DIDS_PSEUDONYM_KEY = KEY
    _cutoff, numbers = frozen
    with django_capture_on_commit_callbacks(execute=True):
        extract = extract_create(actor=analyst, month=MONTH, kind="provisional", format=fmt)
    extract.refresh_from_db()
    assert extract.state == JobState.DONE
    assert extract.rows_done == 25 == extract.percent * 25 // 100
    content = extract.file.read()
    assert not any(n.encode() in content for n in numbers if n)
    frame = pl.read_csv(content) if fmt == "csv" else pl.read_parquet(content)
    assert "nhs_number" not in frame.columns
    expected = {hmac.new(KEY.encode(), n.encode(), hashlib.sha256).hexdigest() for n in numbers if n}
    assert set(frame["nhs_number_pseudonym"].drop_nulls().to_list()) == expected
    assert extract_build(extract_id=extract.pk) == "claimed already"


@pytest.mark.django_db
def test_an_extract_file_is_readable_by_the_portal_user_only(
        frozen, analyst, settings, django_capture_on_commit_callbacks):
    settings.DIDS_PSEUDONYM_KEY = KEY
    with django_capture_on_commit_callbacks(execute=True):
        extract = extract_create(actor=analyst, month=MONTH, kind="provisional", format="csv")
    extract.refresh_from_db()
    path = Path(extract.file.path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.django_db
def test_extract_is_refused_to_providers_and_without_a_key(frozen, submitter, analyst, settings):
    from dids_portal.lib.errors import DomainError

    settings.DIDS_PSEUDONYM_KEY = KEY
    with pytest.raises(DomainError):
        extract_create(actor=submitter, month=MONTH, kind="provisional", format="csv")
    settings.DIDS_PSEUDONYM_KEY = ""
    with pytest.raises(DomainError) as error:
        extract_create(actor=analyst, month=MONTH, kind="provisional", format="csv")
    assert error.value.code == "not_configured"
    assert Extract.objects.count() == 0


@pytest.mark.django_db
def test_organisation_names_are_listed_as_they_are(june):
    Organisation.objects.filter(code="RR8").update(name="=HYPERLINK(\"x\")")
    from submissions.cycle.selectors import compliance_csv_rows

    rows = compliance_csv_rows(compliance_register(start=MONTH, end=MONTH))
    assert any(r[1] == "=HYPERLINK(\"x\")" for r in rows)  # made safe when written (API test)
