"""Misuse of the dids_* commands is told apart from a file's verdict: a clear message and exit
code 64 (EX_USAGE), never a traceback, never 1 (rejected) or 2 (cannot be read)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from submissions.models import Submission

pytestmark = pytest.mark.django_db

AS_OF = "2026-07-01T12:00:00+01:00"


def misuse(*args: str) -> str:
    """Run a command as call_command does; it must refuse with exit code 64. Its message."""
    with pytest.raises(CommandError) as refused:
        call_command(*args)
    assert refused.value.returncode == 64, refused.value
    return str(refused.value)


@pytest.mark.parametrize("command", ["dids_check", "dids_submit"])
def test_a_bad_month_is_misuse(command, sample_reference, make_file):
    message = misuse(command, str(make_file(rows=3)), "--org", "RR8", "--month", "June")
    assert message == "--month must be YYYY-MM, got 'June'."


@pytest.mark.parametrize("command", ["dids_check", "dids_submit"])
def test_an_unknown_organisation_is_misuse(command, sample_reference, make_file):
    message = misuse(command, str(make_file(rows=3)), "--org", "ZZZ", "--month", "2026-06",
                     "--as-of", AS_OF)
    assert "Unknown organisation 'ZZZ'" in message
    assert Submission.objects.count() == 0


@pytest.mark.parametrize("command", ["dids_check", "dids_submit"])
def test_a_directory_given_as_the_file_is_misuse(command, sample_reference, tmp_path):
    message = misuse(command, str(tmp_path), "--org", "RR8", "--month", "2026-06")
    assert message.startswith(f"{tmp_path} is a directory: give one file")


def test_a_negative_max_findings_is_misuse(sample_reference, make_file):
    message = misuse("dids_check", str(make_file(rows=3)), "--org", "RR8", "--month", "2026-06",
                     "--max-findings", "-3")
    assert "argument --max-findings: must be 0 or more, got -3" in message


@pytest.mark.parametrize("command, args", [
    ("dids_generate", ("--rows", "5", "--org", "RR8", "--month", "2026-06",
                       "--dataset-version", "2.0")),
    ("export_reference_snapshot", ()),
])
def test_an_output_folder_that_does_not_exist_is_misuse(command, args, sample_reference, tmp_path):
    target = tmp_path / "no-such-folder" / "out.csv"
    message = misuse(command, *args, "--output", str(target))
    assert message == f"--output {target}: the folder {target.parent} does not exist."
    assert not target.parent.exists()


def test_from_the_command_line_misuse_exits_64_with_the_usage_and_no_traceback(tmp_path):
    # argparse's own refusals (here a value that is no number) exit 64 too, not argparse's 2.
    result = subprocess.run(
        [sys.executable, "manage.py", "dids_check", str(tmp_path / "x.csv"), "--org", "RR8",
         "--month", "2026-06", "--max-findings", "many"],
        cwd=Path(settings.BASE_DIR), capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "dids_portal.settings",
             "SECRET_KEY": "misuse-test", "DATABASE_URL": "sqlite:///:memory:"})
    assert result.returncode == 64, result.stderr
    assert "usage: manage.py dids_check" in result.stderr
    assert "argument --max-findings: must be a whole number, got 'many'" in result.stderr
    assert "Traceback" not in result.stderr
