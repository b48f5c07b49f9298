"""Property tests: random and mutated files never raise; the report always adds up."""

from __future__ import annotations

import io
import zipfile
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from submissions.engine import validate

from .conftest import GOLDEN, context_for

CLEAN = (GOLDEN / "v1.0" / "clean.csv").read_bytes()
CLEAN_V2 = (GOLDEN / "v2.0" / "clean.csv").read_bytes()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def consistent(report) -> None:
    assert report.rows == report.accepted_rows + report.rejected_rows
    assert report.file_rejected or report.findings or report.accepted_rows == report.rows
    if report.file_rejected:
        assert any(f.severity == "file" for f in report.findings)
    for f in report.findings:
        assert f.rule in report.counts_by_rule
        assert f.severity in ("file", "reject", "warn")


@FAST
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_raise(reference, data):
    consistent(validate(io.BytesIO(data), context=context_for(date(2026, 2, 1)), reference=reference))


@FAST
@given(text=st.text(alphabet=st.sampled_from(list(',"\n\r AZ09-:T+\x00é')), max_size=600))
def test_random_csv_like_text_never_raises(reference, text):
    consistent(validate(io.BytesIO(text.encode()), context=context_for(date(2026, 2, 1)), reference=reference))


edits = st.lists(st.tuples(st.integers(0, len(CLEAN) - 1), st.sampled_from(
    [b"", b",", b'"', b"\n", b"\r\n", b" ", b"9", b"x", b"\x00", b"\xff", b"-", b"2026-02-30", b"ZZ99 3VZ"])),
    min_size=1, max_size=6)


@FAST
@given(changes=edits, v2=st.booleans())
def test_mutated_valid_files_never_raise(reference, changes, v2):
    data = bytearray(CLEAN_V2 if v2 else CLEAN)
    for pos, new in sorted(changes, reverse=True):
        pos = min(pos, len(data) - 1)
        data[pos:pos + 1] = new
    month = date(2026, 10, 1) if v2 else date(2026, 2, 1)
    consistent(validate(io.BytesIO(bytes(data)), context=context_for(month), reference=reference))


@FAST
@given(lines=st.lists(st.integers(0, 12), min_size=0, max_size=30), zipped=st.booleans())
def test_reordered_dropped_and_repeated_lines_never_raise(reference, lines, zipped):
    source = CLEAN.split(b"\n")
    data = b"\n".join(source[i] for i in lines)
    if zipped:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("x.csv", data)
        data = buf.getvalue()
    report = validate(io.BytesIO(data), context=context_for(date(2026, 2, 1)), reference=reference)
    consistent(report)
    records = [i for i in lines if i > 0]
    if lines and lines[0] == 0 and records and 0 not in lines[1:]:
        repeats = len(records) - len(set(records))
        assert report.counts_by_rule.get("DIDS071", 0) == repeats
