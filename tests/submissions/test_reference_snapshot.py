"""The portal's reference snapshot export, and the offline checker giving the portal's answer."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.services import api_token_create
from submissions.engine import RULESET_VERSION
from submissions.engine.snapshot_file import snapshot_read
from submissions.selectors import reference_snapshot_file, reference_snapshot_load

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-07-01T12:00:00+01:00"


def portal_check(capsys, path: Path, *args: str) -> tuple[int, str]:
    code = 0
    try:
        call_command("dids_check", str(path), *args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    except CommandError:
        code = 1
    return code, capsys.readouterr().out


def offline_check(path: Path, *args: str) -> tuple[int, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "submissions.engine.cli", str(path), *args],
                            cwd=ROOT, capture_output=True, check=False, env=env)
    return result.returncode, result.stdout.decode("utf-8")


@pytest.fixture
def exported(sample_reference, tmp_path) -> Path:
    path = tmp_path / "reference.json.gz"
    call_command("export_reference_snapshot", "--output", str(path))
    return path


@pytest.fixture
def corpus(make_file, bad_file, tmp_path) -> dict[str, tuple[Path, str]]:
    """Files and their activity months: clean, with errors, rejected, unreadable, v1.0, a zip."""
    archive = tmp_path / "june.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(make_file(rows=10, seed=2), "june.csv")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("caf\xe9,1\n".encode("latin-1"))
    return {
        "clean v2.0": (make_file(rows=25), "2026-06"),
        "errors v2.0": (make_file(rows=60, error_rate=0.3, seed=4), "2026-06"),
        "rejected": (bad_file, "2026-06"),
        "unreadable": (latin1, "2026-06"),
        "errors v1.0": (make_file(rows=40, error_rate=0.2, seed=5, month=date(2026, 2, 1)),
                        "2026-02"),
        "zip": (archive, "2026-06"),
    }


def test_the_offline_checker_gives_the_portal_s_json_and_exit_code_for_every_file(
        capsys, exported, corpus):
    codes = set()
    for name, (path, month) in corpus.items():
        args = ["--org", "RR8", "--month", month, "--as-of", AS_OF, "--format", "json"]
        portal = portal_check(capsys, path, *args)
        offline = offline_check(path, "--reference", str(exported), *args)
        assert offline == portal, name
        codes.add(portal[0])
    assert codes == {0, 1, 2}


def test_the_offline_checker_gives_the_portal_s_text_with_max_findings(capsys, exported, make_file):
    path = make_file(rows=60, error_rate=0.3, seed=6)
    args = ["--org", "RR8", "--month", "2026-06", "--as-of", AS_OF, "--max-findings", "3"]
    portal = portal_check(capsys, path, *args)
    assert "(more findings not shown)" in portal[1]
    assert offline_check(path, "--reference", str(exported), *args) == portal


def test_the_exported_snapshot_holds_the_reference_data_the_portal_checks_against(sample_reference):
    data, name = reference_snapshot_file()
    doc = json.loads(data)
    snapshot, release = reference_snapshot_load()
    assert doc["format_version"] == 1 and doc["ruleset_version"] == RULESET_VERSION
    assert doc["reference_release"] == release.label
    assert name.startswith("dids-reference-snapshot-") and name.endswith(".json")
    assert snapshot_read(io.BytesIO(data)).snapshot == snapshot


def test_export_reference_snapshot_writes_a_gzip_file_named_gz(exported, sample_reference):
    assert exported.read_bytes()[:2] == b"\x1f\x8b"
    assert snapshot_read(exported).snapshot == reference_snapshot_load()[0]


def test_a_provider_token_downloads_the_reference_snapshot_as_an_attachment(client, submitter):
    _token, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="RIS")
    response = client.get("/api/reference-snapshot/", HTTP_AUTHORIZATION=f"Token {plaintext}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="dids-reference-snapshot-')
    assert json.loads(response.content)["ruleset_version"] == RULESET_VERSION


def test_the_reference_snapshot_is_refused_to_an_anonymous_caller(client, sample_reference):
    assert client.get("/api/reference-snapshot/").status_code in (401, 403)


def test_the_reference_snapshot_endpoint_is_in_the_openapi_schema(client, sample_reference):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/reference-snapshot/"]["get"]
    assert "offline checker" in operation["summary"]


@pytest.fixture
def snapshot_cache(settings, tmp_path: Path) -> Path:
    settings.DIDS_REFERENCE_SNAPSHOT_CACHE = True
    settings.MEDIA_ROOT = tmp_path
    return tmp_path / "cache"


def test_the_reference_snapshot_is_read_back_from_its_cache_until_the_data_changes(
        sample_reference: None, snapshot_cache: Path) -> None:
    from dids_portal.lib.history import history_set
    from reference.models import Organisation

    built, _release = reference_snapshot_load()
    assert len(list(snapshot_cache.glob("reference-snapshot-*.pickle"))) == 1
    cached, _release = reference_snapshot_load()
    assert cached == built and cached is not built
    organisation = Organisation.objects.get(code="RR8")
    organisation.closed = date(2026, 3, 31)
    history_set(organisation, actor=None, reason="closed")
    organisation.save()
    changed, _release = reference_snapshot_load()
    assert changed.organisations["RR8"].closed == date(2026, 3, 31)
    assert len(list(snapshot_cache.glob("reference-snapshot-*.pickle"))) == 1  # the old one went


def test_an_unreadable_snapshot_cache_is_built_again(sample_reference: None, snapshot_cache: Path) -> None:
    built, _release = reference_snapshot_load()
    (cache,) = snapshot_cache.glob("reference-snapshot-*.pickle")
    cache.write_bytes(b"not a pickle")
    again, _release = reference_snapshot_load()
    assert again == built
