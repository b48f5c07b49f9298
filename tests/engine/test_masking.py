"""No finding ever carries a full NHS number."""

from __future__ import annotations

import io
import json
import re
from datetime import date

from submissions.engine import validate
from submissions.engine.identifiers import nhs_number_valid
from submissions.engine.masking import mask_nhs_number, mask_text

from .conftest import GOLDEN, context_for

CLEAN = (GOLDEN / "v1.0" / "clean.csv").read_text()
HEADER, *RECORDS = CLEAN.strip("\n").split("\n")


def test_masking_keeps_only_the_last_three_digits():
    assert mask_nhs_number("4857302617") == "*******617"
    assert mask_nhs_number("485 730 2617") == "*** *** *617"


def test_free_text_masks_anything_shaped_like_an_nhs_number():
    assert mask_text("number 4857302617 and 485-730-2617.") == "number *******617 and ***-***-*617."
    assert mask_text("SNOMED 399208008") == "SNOMED 399208008"


def test_findings_about_nhs_numbers_mask_value_and_message(reference):
    records = RECORDS[:]
    nhs = records[0].split(",")[0]
    wrong = nhs[:9] + str((int(nhs[9]) + 1) % 10)
    records[0] = records[0].replace(nhs, wrong, 1)
    report = validate(io.BytesIO("\n".join([HEADER, *records]).encode()),
                      context=context_for(date(2026, 2, 1)), reference=reference)
    (finding,) = report.findings
    assert finding.rule == "DIDS001"
    assert finding.value == "*******" + wrong[-3:]
    assert wrong not in finding.message and "*******" + wrong[-3:] in finding.message


def test_no_report_json_contains_a_full_nhs_number(reference):
    records = [r.replace(",", ",485 730 2617 ", 1) if n % 3 == 0 else r for n, r in enumerate(RECORDS)]
    records[1] = records[1].rsplit(",", 1)[0] + ",4857302617"  # an accession number shaped like one
    report = validate(io.BytesIO("\n".join([HEADER, *records]).encode()),
                      context=context_for(date(2026, 2, 1)), reference=reference)
    assert report.findings
    text = json.dumps(report.to_dict())
    for run in re.findall(r"[0-9][0-9 -]{8,}[0-9]", text):
        digits = re.sub(r"[^0-9]", "", run)
        assert not (len(digits) == 10 and nhs_number_valid(digits)), run
