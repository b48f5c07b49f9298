"""Cut-offs: the version live at the deadline, the manifest, idempotence and the statistics."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from dids_portal.lib.errors import DomainError
from submissions.cycle.cutoff_selectors import STATISTICS_KEYS, cutoff_statistics, disclosed
from submissions.cycle.services import cutoffs_run_due, period_cut_off
from submissions.cycle.timetable import default_deadlines
from submissions.models import CutOff, CutOffVersion
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import hand_file, submit_at

PROVISIONAL = default_deadlines(MONTH).provisional
AFTER = PROVISIONAL + timedelta(minutes=1)

# Waits by hand: CT request -> test 0, 10, 41, 42, 100 (sorted; n 5, median 41, p90 the 5th
# smallest = 100; bands 3 / 1 / 1), test -> report 0..4 (median 2, p90 4); MRI request -> test
# 5, 7 (median 6.0, p90 the 2nd = 7), test -> report 10, 20 (median 15.0, p90 20).
HAND_ROWS = [
    {"modality": "CT", "request": 42, "report": 3, "source": "01"},
    {"modality": "CT", "request": 0, "report": 0, "source": "01"},
    {"modality": "CT", "request": 100, "report": 4, "source": "04"},
    {"modality": "CT", "request": 10, "report": 1, "source": "03"},
    {"modality": "CT", "request": 41, "report": 2, "source": "04"},
    {"modality": "MRI", "request": 7, "report": 20, "source": "07"},
    {"modality": "MRI", "request": 5, "report": 10, "source": "07"},
]


@pytest.fixture
def hand_cutoff(submitter, tmp_path):
    submit_at(submitter, hand_file(tmp_path / "hand.csv", HAND_ROWS), AS_OF)
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional", now=AFTER)
    return cutoff


@pytest.mark.django_db
def test_cutoff_takes_the_version_live_at_the_deadline_instant(submitter, make_file):
    first = submit_at(submitter, make_file(rows=5, seed=1), AS_OF)
    at_deadline = submit_at(submitter, make_file(rows=6, seed=2), PROVISIONAL)
    submit_at(submitter, make_file(rows=7, seed=3), PROVISIONAL + timedelta(seconds=1))
    cutoff, created = period_cut_off(actor=None, month=MONTH, kind="provisional", now=AFTER)
    assert created
    assert list(cutoff.versions.values_list("submission_id", flat=True)) == [at_deadline.pk]
    assert first.pk not in [v["submission_id"] for v in cutoff.manifest["versions"]]
    assert cutoff.record_count == 6


@pytest.mark.django_db
def test_rejected_version_never_enters_a_cutoff(submitter, make_file, bad_file):
    accepted = submit_at(submitter, make_file(rows=5), AS_OF)
    submit_at(submitter, bad_file, AS_OF + timedelta(days=1))
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional", now=AFTER)
    assert [v["submission_id"] for v in cutoff.manifest["versions"]] == [accepted.pk]


@pytest.mark.django_db
def test_cutoff_before_its_deadline_is_refused(submitter):
    with pytest.raises(DomainError) as error:
        period_cut_off(actor=None, month=MONTH, kind="provisional", now=PROVISIONAL)
    assert error.value.code == "not_due"


@pytest.mark.django_db
def test_cutoff_waits_for_versions_still_processing(submitter, make_file):
    submit_at(submitter, make_file(rows=5), AS_OF, process=False)
    with pytest.raises(DomainError) as error:
        period_cut_off(actor=None, month=MONTH, kind="provisional", now=AFTER)
    assert error.value.code == "versions_pending"


@pytest.mark.django_db
def test_running_a_cutoff_twice_returns_the_same_frozen_product(submitter, make_file):
    submit_at(submitter, make_file(rows=5), AS_OF)
    first, created_first = period_cut_off(actor=None, month=MONTH, kind="provisional", now=AFTER)
    again, created_again = period_cut_off(actor=None, month=MONTH, kind="provisional",
                                          now=AFTER + timedelta(days=1))
    assert created_first and not created_again
    assert again.pk == first.pk
    assert CutOff.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_cutoffs_leave_exactly_one_product(sample_reference, submitter, make_file):
    submit_at(submitter, make_file(rows=20), AS_OF)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        try:
            barrier.wait()
            results.append(period_cut_off(actor=None, month=MONTH, kind="provisional", now=AFTER))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(created for _, created in results) == [False, True]
    assert len({cutoff.pk for cutoff, _ in results}) == 1
    assert CutOff.objects.count() == 1
    assert CutOffVersion.objects.count() == 1


@pytest.mark.django_db
def test_manifest_lists_each_version_with_its_provenance(submitter, make_file):
    path = make_file(rows=5)
    version = submit_at(submitter, path, AS_OF)
    cutoff, _ = period_cut_off(actor=submitter, month=MONTH, kind="provisional", now=AFTER,
                               run_by_label="test")
    entry = cutoff.manifest["versions"][0]
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["dataset_version"] == "2.0"
    assert entry["ruleset_version"] == version.ruleset_version != ""
    assert entry["reference_release"] == version.reference_release.label
    assert cutoff.manifest["code_version"].startswith(("git:", "dids-portal"))
    assert cutoff.manifest["run_by"] == "test"
    assert cutoff.manifest["taken_at"] == AFTER.isoformat()
    assert cutoff.manifest["records_checksum"] == cutoff.records_checksum


@pytest.mark.django_db
def test_statistics_rebuilt_from_the_manifest_give_the_same_numbers_and_checksum(
        submitter, other_provider_user, make_file):
    submit_at(submitter, make_file(rows=40, seed=4), AS_OF)
    submit_at(other_provider_user, make_file(rows=30, seed=5, org="RCD"), AS_OF, org="RCD")
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional", now=AFTER)
    frozen = cutoff_statistics(cutoff=cutoff)
    rebuilt = cutoff_statistics(cutoff=cutoff, rebuild=True)
    assert rebuilt == frozen
    assert rebuilt["records_checksum"] == cutoff.records_checksum
    assert frozen["total"] == 70


@pytest.mark.django_db
def test_checksum_changes_when_a_different_version_is_included(submitter, make_file):
    submit_at(submitter, make_file(rows=5, seed=1), AS_OF)
    provisional, _ = period_cut_off(actor=None, month=MONTH, kind="provisional", now=AFTER)
    submit_at(submitter, make_file(rows=5, seed=2), AFTER)
    final_deadline = default_deadlines(MONTH).final
    final, _ = period_cut_off(actor=None, month=MONTH, kind="final",
                              now=final_deadline + timedelta(seconds=1))
    assert final.records_checksum != provisional.records_checksum


@pytest.mark.django_db
def test_statistics_match_hand_computed_figures(hand_cutoff):
    stats = cutoff_statistics(cutoff=hand_cutoff)
    assert stats["total"] == 7
    assert stats["by_modality"] == {"CT": 5, "MRI": 2}
    assert stats["by_provider"] == {"RR8": 7}
    assert stats["by_source_setting"] == {"01": 2, "03": 1, "04": 2, "07": 2}
    rt, tr = stats["waits"]["request_to_test"], stats["waits"]["test_to_report"]
    assert rt["CT"] == {"n": 5, "median": 41.0, "p90": 100,
                        "bands": {"0-41": 3, "42-90": 1, "91+": 1}}
    assert rt["MRI"] == {"n": 2, "median": 6.0, "p90": 7, "bands": {"0-41": 2, "42-90": 0, "91+": 0}}
    assert tr["CT"] == {"n": 5, "median": 2.0, "p90": 4}
    assert tr["MRI"] == {"n": 2, "median": 15.0, "p90": 20}
    assert stats["coverage"]["organisations_included"] == 1


def test_disclosure_control_suppresses_small_counts_and_rounds_providers():
    stats = {"month": "2026-06", "cutoff": "final", "total": 1234,
             "by_modality": {"CT": 1203, "PET": 3, "SPECT": 0},
             "by_provider": {"RR8": 1222, "RCD": 12, "RJ1": 0, "RXH": 7},
             "by_source_setting": {"01": 1234},
             "waits": {"request_to_test": {"PET": {"n": 3, "median": 4.0, "p90": 9,
                                                   "bands": {"0-41": 3, "42-90": 0, "91+": 0}}},
                       "test_to_report": {"CT": {"n": 1203, "median": 1.5, "p90": 6}}}}
    published = disclosed(stats)
    assert published["total"] == 1234
    assert published["by_modality"] == {"CT": 1203, "PET": "*", "SPECT": 0}
    assert published["by_provider"] == {"RR8": 1220, "RCD": 10, "RJ1": 0, "RXH": "*"}
    assert published["waits"]["request_to_test"]["PET"] == {
        "n": "*", "median": "*", "p90": "*", "bands": {"0-41": "*", "42-90": 0, "91+": 0}}
    assert published["waits"]["test_to_report"]["CT"]["median"] == 1.5


@pytest.mark.django_db
def test_monthly_stats_json_has_exactly_the_documented_keys(hand_cutoff):
    out = StringIO()
    call_command("monthly_stats", "--month", "2026-06", "--cutoff", "provisional",
                 "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert tuple(data) == STATISTICS_KEYS
    assert data["total"] == 7
    assert set(data["waits"]) == {"request_to_test", "test_to_report"}
    assert data["waits"]["test_to_report"]["MRI"] == {"n": 2, "median": 15.0, "p90": 20}


@pytest.mark.django_db
def test_monthly_stats_json_gives_coverage_and_provider_by_modality(hand_cutoff):
    out = StringIO()
    call_command("monthly_stats", "--month", "2026-06", "--cutoff", "provisional",
                 "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["by_provider_modality"] == {"RR8": {"CT": 5, "MRI": 2}}
    assert data["coverage"]["organisations_included"] == 1
    assert data["coverage"]["organisations_in_scope"] >= 1


@pytest.mark.django_db
def test_monthly_stats_csv_gives_coverage_and_provider_by_modality(hand_cutoff):
    out = StringIO()
    call_command("monthly_stats", "--month", "2026-06", "--cutoff", "provisional",
                 "--format", "csv", stdout=out)
    lines = out.getvalue().splitlines()
    assert "2026-06,provisional,by_provider_modality,RR8/CT,examinations,5" in lines
    assert "2026-06,provisional,coverage,,organisations_included,1" in lines


@pytest.mark.django_db
def test_monthly_stats_published_csv_suppresses_small_counts(hand_cutoff):
    out = StringIO()
    call_command("monthly_stats", "--month", "2026-06", "--cutoff", "provisional",
                 "--format", "csv", "--published", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "month,cutoff,measure,group,figure,value"
    assert "2026-06,provisional,total,,examinations,7" in lines
    assert "2026-06,provisional,by_provider,RR8,examinations,*" in lines


@pytest.mark.django_db
def test_run_cutoff_command_freezes_and_reports(submitter, make_file):
    import time_machine

    submit_at(submitter, make_file(rows=5), AS_OF)
    out = StringIO()
    with time_machine.travel(AFTER, tick=False):
        call_command("run_cutoff", "--month", "2026-06", "--kind", "provisional", stdout=out)
        call_command("run_cutoff", "--month", "2026-06", "--kind", "provisional", stdout=out)
    assert CutOff.objects.get().run_by_label == "run_cutoff command"
    assert '"created": false' in out.getvalue()


@pytest.mark.django_db
def test_due_cutoffs_catch_up_after_beat_was_down(submitter, make_file):
    submit_at(submitter, make_file(rows=5), AS_OF)
    days_later = PROVISIONAL + timedelta(days=3)
    done = cutoffs_run_due(now=days_later)
    assert [(c.period.activity_month, c.kind) for c in done] == [(MONTH, "provisional")]
    assert CutOff.objects.get().deadline == PROVISIONAL
    assert cutoffs_run_due(now=days_later) == []  # the second beat finds nothing to do
