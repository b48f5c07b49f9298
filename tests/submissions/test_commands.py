from __future__ import annotations

import json
import zipfile

import pytest
from django.core.management import call_command

from submissions.models import Record, Submission

pytestmark = pytest.mark.django_db

AS_OF = "2026-07-01T12:00:00+01:00"


def run(capsys, *args):
    code = 0
    try:
        call_command(*args)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_dids_check_exits_0_for_a_clean_file_and_writes_nothing(capsys, sample_reference, make_file):
    code, out, _ = run(capsys, "dids_check", str(make_file(rows=25)), "--org", "RR8",
                       "--month", "2026-06", "--as-of", AS_OF, "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["rows"] == report["accepted_rows"] == 25
    assert report["findings"] == [] and report["counts_by_rule"] == {}
    assert report["file_rejected"] is False
    assert Submission.objects.count() == 0 and Record.objects.count() == 0


def test_dids_check_reports_every_key_the_interface_promises(capsys, sample_reference, make_file):
    _, out, _ = run(capsys, "dids_check", str(make_file(rows=80, error_rate=0.3, seed=4)),
                    "--org", "RR8", "--month", "2026-06", "--as-of", AS_OF, "--format", "json")
    report = json.loads(out)
    assert {"dataset_version", "rows", "accepted_rows", "rejected_rows", "file_rejected",
            "counts_by_rule", "findings"} <= set(report)
    assert report["dataset_version"] == "2.0"
    finding = report["findings"][0]
    assert {"line", "item", "rule", "severity", "message"} <= set(finding)
    assert sum(report["counts_by_rule"].values()) == len(report["findings"])


def test_dids_check_exits_1_when_the_file_would_be_rejected(capsys, sample_reference, bad_file):
    code, out, _ = run(capsys, "dids_check", str(bad_file), "--org", "RR8", "--month", "2026-06")
    assert code == 1
    assert "DIDS075" in out


@pytest.fixture
def ragged_file(make_file, tmp_path):
    """20 records of which the last is a column short: rejected as a whole once it is read."""
    lines = make_file(rows=20).read_text().strip("\n").split("\n")
    lines[-1] = lines[-1].rsplit(",", 1)[0]
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_dids_check_json_lists_the_file_finding_and_no_accepted_records_whatever_max_findings(
        capsys, sample_reference, ragged_file):
    code, out, _ = run(capsys, "dids_check", str(ragged_file), "--org", "RR8", "--month", "2026-06",
                       "--as-of", AS_OF, "--format", "json", "--max-findings", "0")
    report = json.loads(out)
    assert code == 1 and report["file_rejected"] is True
    assert report["accepted_rows"] == 0 and report["rejected_rows"] == report["rows"] == 19
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [("DIDS075", 21)]


def test_dids_check_exits_2_when_the_file_cannot_be_read(capsys, sample_reference, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("caf\xe9,1\n".encode("latin-1"))
    assert run(capsys, "dids_check", str(latin1), "--org", "RR8", "--month", "2026-06")[0] == 2
    assert run(capsys, "dids_check", str(tmp_path / "missing.csv"), "--org", "RR8",
               "--month", "2026-06")[0] == 2


def test_dids_check_reads_a_zip_holding_one_csv(capsys, sample_reference, make_file, tmp_path):
    archive = tmp_path / "june.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(make_file(rows=10), "june.csv")
    code, out, _ = run(capsys, "dids_check", str(archive), "--org", "RR8", "--month", "2026-06",
                       "--as-of", AS_OF, "--format", "json")
    assert code == 0 and json.loads(out)["rows"] == 10


def test_dids_check_text_format_names_line_rule_and_item(capsys, sample_reference, make_file):
    _, out, _ = run(capsys, "dids_check", str(make_file(rows=50, error_rate=0.4, seed=8)),
                    "--org", "RR8", "--month", "2026-06", "--as-of", AS_OF)
    assert "Findings by rule:" in out
    assert "line " in out


def test_dids_submit_stores_a_version_and_prints_json(capsys, sample_reference, make_file):
    code, out, _ = run(capsys, "dids_submit", str(make_file(rows=15)), "--org", "RR8",
                       "--month", "2026-06", "--as-of", AS_OF, "--format", "json")
    result = json.loads(out)
    assert code == 0
    assert result["status"] == "accepted" and result["version"] == 1 and result["is_live"]
    assert result["accepted_rows"] == 15
    assert Submission.objects.get().channel == "cli"


def test_dids_submit_exits_1_for_a_rejected_file(capsys, sample_reference, bad_file):
    code, out, _ = run(capsys, "dids_submit", str(bad_file), "--org", "RR8", "--month", "2026-06",
                       "--format", "json")
    assert code == 1 and json.loads(out)["status"] == "rejected"


def test_dids_submit_stores_no_accepted_records_for_a_file_rejected_once_read(capsys, sample_reference,
                                                                           ragged_file):
    code, out, _ = run(capsys, "dids_submit", str(ragged_file), "--org", "RR8", "--month", "2026-06",
                       "--as-of", AS_OF, "--format", "json")
    result = json.loads(out)
    assert code == 1 and result["status"] == "rejected"
    assert result["accepted_rows"] == 0 and result["rejected_rows"] == result["rows"] == 19
    assert Submission.objects.get().accepted_rows == 0 and Record.objects.count() == 0


def test_dids_generate_writes_a_clean_file_the_checker_accepts(capsys, sample_reference, tmp_path):
    path = tmp_path / "gen.csv"
    run(capsys, "dids_generate", "--rows", "40", "--org", "RR8", "--month", "2026-02",
        "--dataset-version", "1.0", "--seed", "3", "--output", str(path))
    code, out, _ = run(capsys, "dids_check", str(path), "--org", "RR8", "--month", "2026-02",
                       "--as-of", "2026-03-01T12:00:00+00:00", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["rows"] == 40 and report["dataset_version"] == "1.0"


def test_dids_generate_prints_the_errors_it_planted(capsys, sample_reference, tmp_path):
    path = tmp_path / "gen.csv"
    _, _, err = run(capsys, "dids_generate", "--rows", "200", "--org", "RR8", "--month", "2026-06",
                    "--dataset-version", "2.0", "--seed", "3", "--error-rate", "0.2",
                    "--output", str(path), "--print-errors")
    assert "planted errors" in err
    assert "line " in err


def test_seed_demo_creates_a_user_per_role_and_prints_their_log_ins_once(capsys, db):
    from accounts.models import User

    code, out, _ = run(capsys, "seed_demo", "--no-submissions")
    assert code == 0
    assert "Demo log-ins" in out
    assert User.objects.filter(email__endswith=".demo.nhs.uk").count() == 5
    # A second run keeps what is there and prints no new passwords.
    _, again, _ = run(capsys, "seed_demo", "--no-submissions")
    assert "already exist" in again and "Demo log-ins" not in again
    assert User.objects.filter(email__endswith=".demo.nhs.uk").count() == 5
