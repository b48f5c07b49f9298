"""Fixtures for the engine tests: plain pytest, no database."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest

from submissions.engine import CheckContext, ReferenceSnapshot
from submissions.engine.context import LONDON, add_months

SAMPLE = Path(__file__).resolve().parents[2] / "reference" / "data" / "sample"
GOLDEN = Path(__file__).parent / "golden"
GOLDEN_MONTHS = {"1.0": date(2026, 2, 1), "2.0": date(2026, 10, 1)}


@pytest.fixture(scope="session")
def reference() -> ReferenceSnapshot:
    return ReferenceSnapshot.from_directory(SAMPLE)


def context_for(month: date, *, org: str = "RR8", with_month: bool = True) -> CheckContext:
    """Submitted at noon (London) on the first day of the month after `month`."""
    nxt = add_months(month.replace(day=1), 1)
    return CheckContext(
        submitting_org=org,
        month=month if with_month else None,
        as_of=datetime(nxt.year, nxt.month, 1, 12, tzinfo=LONDON),
    )


def csv_bytes(*rows: str, newline: str = "\n") -> io.BytesIO:
    return io.BytesIO((newline.join(rows) + newline).encode("utf-8"))
