"""The offline checker ``dids-check`` and the snapshot file it reads (no Django, no database)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from submissions.engine import RULESET_VERSION, generate_file
from submissions.engine.cli import snapshot_warnings
from submissions.engine.snapshot_file import (
    SnapshotFileError,
    snapshot_document,
    snapshot_read,
    snapshot_write,
)

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-07-01T12:00:00+01:00"
JUNE = date(2026, 6, 1)


def dids_check(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "submissions.engine.cli", *args], cwd=ROOT,
                          input=stdin, capture_output=True, check=False, env=env)


@pytest.fixture(scope="module")
def snapshot_path(tmp_path_factory, reference) -> Path:
    path = tmp_path_factory.mktemp("snapshot") / "reference.json.gz"
    snapshot_write(reference, path, ruleset_version=RULESET_VERSION)
    return path


@pytest.fixture
def clean_file(tmp_path, reference) -> Path:
    path = tmp_path / "clean.csv"
    generate_file(path, rows=2, org="RR8", month=JUNE, dataset_version="2.0", reference=reference,
                  seed=1)
    return path


def june_args(snapshot_path: Path) -> list[str]:
    return ["--reference", str(snapshot_path), "--org", "RR8", "--month", "2026-06",
            "--as-of", AS_OF, "--format", "json"]


def test_a_snapshot_written_to_a_file_reads_back_equal(tmp_path, reference):
    path = tmp_path / "snapshot.json"
    snapshot_write(reference, path, ruleset_version=RULESET_VERSION)
    assert snapshot_read(path).snapshot == reference


def test_a_snapshot_file_named_gz_is_gzip_compressed_and_reads_back_equal(tmp_path, reference):
    path = tmp_path / "snapshot.json.gz"
    snapshot_write(reference, path, ruleset_version=RULESET_VERSION)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(path.read_bytes()))["format_version"] == 1
    assert snapshot_read(path).snapshot == reference


def test_a_snapshot_file_carries_its_release_rule_set_and_export_time(tmp_path, reference):
    when = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    path = tmp_path / "snapshot.json"
    snapshot_write(reference, path, ruleset_version="2026.11.2", exported_at=when)
    loaded = snapshot_read(path)
    doc = json.loads(path.read_text())
    assert {"format_version", "reference_release", "ruleset_version", "exported_at", "code_lists",
            "nicip", "snomed", "organisations", "sites", "arrangements"} <= set(doc)
    assert doc["reference_release"] == reference.release
    assert loaded.ruleset_version == "2026.11.2" and loaded.exported_at == when


def test_a_snapshot_file_of_another_format_version_is_refused(tmp_path, reference):
    doc = snapshot_document(reference, ruleset_version=RULESET_VERSION)
    doc["format_version"] = 99
    path = tmp_path / "future.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SnapshotFileError, match="format 99"):
        snapshot_read(path)


def test_the_checker_warns_when_the_snapshot_names_a_newer_rule_set_than_its_own():
    warnings = snapshot_warnings("9999.1.0", datetime.now(UTC))
    assert len(warnings) == 1 and "upgrade dids-check" in warnings[0]


def test_the_checker_warns_when_the_snapshot_names_an_older_rule_set_than_its_own():
    warnings = snapshot_warnings("2000.1.0", datetime.now(UTC))
    assert len(warnings) == 1 and "export a fresh snapshot" in warnings[0]


def test_the_checker_warns_when_the_snapshot_was_exported_long_ago():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    warnings = snapshot_warnings(RULESET_VERSION, now - timedelta(days=60), now=now)
    assert len(warnings) == 1 and "60 days ago" in warnings[0]


def test_the_checker_says_nothing_of_a_fresh_snapshot_of_its_own_rule_set():
    assert snapshot_warnings(RULESET_VERSION, datetime.now(UTC)) == []


def test_the_version_warning_goes_to_stderr_and_leaves_stdout_unchanged(tmp_path, reference,
                                                                       snapshot_path, clean_file):
    old = tmp_path / "old.json"
    snapshot_write(reference, old, ruleset_version="2000.1.0")
    fresh, stale = dids_check(str(clean_file), *june_args(snapshot_path)), dids_check(
        str(clean_file), *june_args(old))
    assert b"warning: the snapshot was exported with rule set 2000.1.0" in stale.stderr
    assert fresh.stderr == b""
    assert stale.stdout == fresh.stdout and stale.returncode == fresh.returncode == 0


def test_the_checker_reads_a_file_from_stdin(snapshot_path, clean_file):
    from_stdin = dids_check("-", *june_args(snapshot_path), stdin=clean_file.read_bytes())
    from_path = dids_check(str(clean_file), *june_args(snapshot_path))
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout == from_path.stdout
    assert json.loads(from_stdin.stdout)["rows"] == 2


def test_the_checker_checks_each_csv_and_zip_of_a_directory_as_json_lines(tmp_path, snapshot_path,
                                                                         clean_file):
    folder = tmp_path / "month"
    folder.mkdir()
    shutil.copy(clean_file, folder / "a-clean.csv")
    (folder / "b-bad.csv").write_text("patient,when,what\n1,2,3\n")
    (folder / "notes.txt").write_text("not a DIDS file")
    result = dids_check(str(folder), *june_args(snapshot_path))
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [(r["file"], r["exit_code"]) for r in lines] == [("a-clean.csv", 0), ("b-bad.csv", 1)]
    assert lines[0]["report"] == json.loads(dids_check(str(clean_file), *june_args(snapshot_path)).stdout)
    assert result.returncode == 1


def test_the_checker_exits_2_for_a_missing_file_or_snapshot(tmp_path, snapshot_path):
    assert dids_check(str(tmp_path / "missing.csv"), *june_args(snapshot_path)).returncode == 2
    missing_snapshot = dids_check(str(tmp_path / "missing.csv"), *june_args(tmp_path / "none.json"))
    assert missing_snapshot.returncode == 2
    assert b"cannot read the reference snapshot" in missing_snapshot.stderr


def test_the_checker_exits_64_for_an_organisation_the_snapshot_does_not_know(snapshot_path,
                                                                            clean_file):
    result = dids_check(str(clean_file), "--reference", str(snapshot_path), "--org", "ZZZ",
                        "--month", "2026-06")
    assert result.returncode == 64 and b"Unknown organisation 'ZZZ'" in result.stderr


@pytest.mark.parametrize("flags, said", [
    (("--org", "RR8", "--month", "2026-13"), b"--month must be YYYY-MM, got '2026-13'"),
    (("--org", "RR8", "--month", "2026-06", "--max-findings", "-1"),
     b"argument --max-findings: must be 0 or more, got -1"),
    (("--org", "RR8", "--month", "2026-06", "--format", "xml"), b"invalid choice: 'xml'"),
    (("--month", "2026-06"), b"the following arguments are required: --org"),
])
def test_misuse_of_the_checker_exits_64_with_a_message_and_no_traceback(snapshot_path, clean_file,
                                                                       flags, said):
    result = dids_check(str(clean_file), "--reference", str(snapshot_path), *flags)
    assert result.returncode == 64
    assert said in result.stderr and b"Traceback" not in result.stderr
    assert result.stdout == b""


def test_the_installed_console_script_runs_the_checker(snapshot_path, clean_file):
    script = Path(sys.executable).with_name("dids-check")
    assert script.exists(), "pip install -e . declares the dids-check console script"
    result = subprocess.run([str(script), str(clean_file), *june_args(snapshot_path)],
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == dids_check(str(clean_file), *june_args(snapshot_path)).stdout
