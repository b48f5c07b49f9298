"""Fixtures for submissions: generated DIDS files and a helper to submit them."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from accounts.services import api_token_create
from reference.loaders import SAMPLE_DIR
from submissions.engine import ReferenceSnapshot, generate_file

MONTH = date(2026, 6, 1)
# Time-relative rules are judged against this submission time: the generator keeps clean files
# clean for the first day of the following month, at noon.
AS_OF = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture(scope="session")
def sample_snapshot() -> ReferenceSnapshot:
    return ReferenceSnapshot.from_directory(SAMPLE_DIR)


@pytest.fixture
def make_file(tmp_path: Path, sample_snapshot: ReferenceSnapshot) -> Callable[..., Path]:
    """Write a generated file: ``make_file(rows=50, error_rate=0.0, seed=1, month=MONTH)``."""
    counter = iter(range(10_000))

    def make(rows: int = 40, *, error_rate: float = 0.0, seed: int = 1, month: date = MONTH,
             org: str = "RR8", dataset_version: str | None = None) -> Path:
        version = dataset_version or ("2.0" if month >= date(2026, 4, 1) else "1.0")
        path = tmp_path / f"dids-{next(counter)}.csv"
        generate_file(path, rows=rows, org=org, month=month, dataset_version=version,
                      reference=sample_snapshot, error_rate=error_rate, seed=seed)
        return path

    return make


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    """A file the whole of which is rejected: a header with unknown columns."""
    path = tmp_path / "bad.csv"
    path.write_text("patient,when,what\n1,2,3\n", encoding="utf-8")
    return path


def upload_of(path: Path) -> io.BytesIO:
    return io.BytesIO(path.read_bytes())


@pytest.fixture
def token_client(submitter) -> APIClient:  # type: ignore[no-untyped-def]
    """An API client with a fresh token of RR8's submitter."""
    _, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="RIS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    return client
