"""``manage.py dids_convert`` and the offline ``dids-check convert`` give the same answer, and the
portal points a v1.0 file sent for a v2.0 month to them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.models import User
from tests.engine.test_convert import V1_FILE, V2_FILE

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-03-01T12:00:00+00:00"


def portal(capsys, *args: str) -> tuple[int, str]:
    code = 0
    try:
        call_command("dids_convert", *args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().out


def offline(*args: str) -> tuple[int, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "submissions.engine.cli", "convert", *args],
        cwd=ROOT,
        capture_output=True,
        check=False,
        env=env,
    )
    return result.returncode, result.stdout.decode("utf-8")


@pytest.fixture
def v1_file(tmp_path) -> Path:
    path = tmp_path / "march-v1.csv"
    path.write_text(V1_FILE, encoding="utf-8")
    return path


@pytest.fixture
def exported(sample_reference, tmp_path) -> Path:
    path = tmp_path / "reference.json.gz"
    call_command("export_reference_snapshot", "--output", str(path))
    return path


def both(capsys, source: Path, tmp_path: Path, *flags: str, offline_flags: tuple[str, ...] = ()):
    """Run each command on the same file to the same output; what each printed and wrote."""
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    args = [str(source), "--output", str(out), "--report", str(report), *flags]
    results = []
    for run in (lambda: portal(capsys, *args), lambda: offline(*args, *offline_flags)):
        code, stdout = run()
        results.append((code, stdout, out.read_bytes(), json.loads(report.read_text())))
        out.unlink()
        report.unlink()
    return results


def test_both_commands_write_the_same_v2_file_and_print_the_same_report(capsys, v1_file, tmp_path):
    portal_result, offline_result = both(capsys, v1_file, tmp_path)
    assert portal_result == offline_result
    code, stdout, written, document = portal_result
    assert code == 0 and written.decode("utf-8") == V2_FILE
    assert stdout.startswith(f"Converted {v1_file} (DIDS v1.0, 4 records)")
    assert document["check"] is None


def test_both_commands_check_the_converted_file_alike(capsys, exported, make_file, tmp_path):
    source = make_file(rows=60, error_rate=0.2, seed=5, month=date(2026, 2, 1))
    flags = ("--check", "--org", "RR8", "--month", "2026-02", "--as-of", AS_OF)
    portal_result, offline_result = both(
        capsys, source, tmp_path, *flags, offline_flags=("--reference", str(exported))
    )
    assert portal_result == offline_result
    code, stdout, _, document = portal_result
    check = document["check"]
    assert check["dataset_version"] == "2.0" and check["rows"] == 60
    assert check["counts_by_rule"] and code == (1 if check["file_rejected"] else 0)
    assert "\nThe converted file checked as DIDS v2.0 for RR8, 2026-02:\n" in stdout
    assert len(check["findings"]) <= 20


def test_the_check_of_a_clean_converted_file_accepts_it(
    capsys, sample_reference, make_file, tmp_path
):
    source = make_file(rows=30, seed=2, month=date(2026, 2, 1))
    code, stdout = portal(
        capsys,
        str(source),
        "--output",
        str(tmp_path / "v2.csv"),
        "--check",
        "--org",
        "RR8",
        "--month",
        "2026-02",
        "--as-of",
        AS_OF,
    )
    assert code == 0
    assert "ACCEPTED: DIDS v2.0, 30 records, 30 accepted, 0 rejected" in stdout


def misuse(*args: str) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("dids_convert", *args)
    assert refused.value.returncode == 64, refused.value
    return str(refused.value)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--check", "--org", "RR8"], "--check needs --month."),
        (["--check", "--org", "ZZZ", "--month", "2026-02"], "Unknown organisation 'ZZZ'."),
        (["--check", "--org", "RR8", "--month", "March"], "--month must be YYYY-MM, got 'March'."),
        (["--month", "2026-02"], "--month only with --check."),
    ],
)
def test_misuse_of_dids_convert_exits_64_and_writes_nothing(
    sample_reference, v1_file, tmp_path, flags, message
):
    assert misuse(str(v1_file), "--output", str(tmp_path / "out.csv"), *flags) == message
    assert not (tmp_path / "out.csv").exists()


def test_an_output_folder_that_does_not_exist_is_misuse(v1_file, tmp_path):
    target = tmp_path / "no-such-folder" / "out.csv"
    assert misuse(str(v1_file), "--output", str(target)) == (
        f"--output {target}: the folder {target.parent} does not exist."
    )


def test_a_missing_output_flag_is_misuse(v1_file):
    assert "the following arguments are required: --output" in misuse(str(v1_file))


def test_a_v2_file_cannot_be_converted_and_exits_2(capsys, tmp_path):
    source = tmp_path / "v2.csv"
    source.write_text(V2_FILE, encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        call_command("dids_convert", str(source), "--output", str(tmp_path / "out.csv"))
    assert stopped.value.code == 2
    assert "has the DIDS v2.0 layout already" in capsys.readouterr().err


def test_the_upload_page_points_to_the_converter(client_for, submitter: User) -> None:
    html = client_for(submitter).get(reverse("submissions:upload")).content.decode()
    assert "<code>dids-check convert FILE --output FILE-v2.csv</code>" in html


def test_a_v1_file_checked_for_a_v2_month_says_what_is_wrong_and_names_the_converter(
    client_for, submitter: User, make_file
) -> None:
    with make_file(20, month=date(2026, 2, 1)).open("rb") as handle:
        response = client_for(submitter).post(
            reverse("submissions:upload"),
            {"activity_month": "2026-06", "file": handle, "action": "check"},
        )
    html = response.content.decode()
    assert "June 2026 is a DIDS v2.0 month: send the v2.0 layout" in html
    assert "run the converter: dids-check convert FILE --output FILE-v2.csv" in html
