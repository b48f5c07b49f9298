"""Check digits against published examples, written here by hand (no code produced them).

NHS number: the NHS Data Dictionary's worked example 943 476 5919, the test number
401 023 2137 used in NHS England's developer documentation, and 123 456 7890, whose
remainder of 1 gives a check digit of 10, so no valid number starts with those nine digits.
Verhoeff: the examples of Verhoeff's scheme as Wikipedia and Rosetta Code give them
(236 -> 2363, 12345 -> 123451, 142857 -> 1428570, 123456789012 -> 1234567890120,
8473643095483728456789 -> 84736430954837284567892), and published SNOMED CT concept ids.
"""

from __future__ import annotations

import random

import polars as pl
import pytest

from submissions.engine import load_layouts
from submissions.engine.identifiers import (
    modulus11_ok,
    nhs_number_valid,
    snomed_id_valid,
    verhoeff_valid,
)

# A SNOMED CT identifier as SNOMED International's Technical Implementation Guide describes
# it: 6 to 18 digits; a concept id's partition identifier is 00 (short) or 10 (long format).
SNOMED = (6, 18, ("00", "10"))
VALID_NHS = ["9434765919", "4010232137"]
INVALID_NHS = [
    "9434765918",  # the worked example with its last digit changed
    "4010232138",
    "1234567890",  # check digit would be 10: no valid number
    "1234567891",
]


@pytest.mark.parametrize("number", VALID_NHS)
def test_published_nhs_numbers_pass_modulus_11(number):
    assert nhs_number_valid(number)


@pytest.mark.parametrize("number", INVALID_NHS)
def test_altered_nhs_numbers_fail_modulus_11(number):
    assert not nhs_number_valid(number)


def test_the_vectorised_check_the_engine_runs_agrees_with_the_published_numbers():
    frame = pl.DataFrame({"n": VALID_NHS + INVALID_NHS})
    result = frame.select(modulus11_ok(pl.col("n"))).to_series().to_list()
    assert result == [True] * len(VALID_NHS) + [False] * len(INVALID_NHS)


def test_the_vectorised_check_agrees_with_the_scalar_one_and_is_null_for_what_is_not_ten_digits():
    rng = random.Random(15)
    numbers = [str(rng.randrange(10**10)).zfill(10) for _ in range(20_000)]
    others = [None, "", "123456789", "12345678901", "12345 7890", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10", "943476591x"]
    frame = pl.DataFrame({"n": others + numbers + others})
    result = frame.select(modulus11_ok(pl.col("n"))).to_series().to_list()
    assert result[7:-7] == [nhs_number_valid(n) for n in numbers]
    assert result[:7] == result[-7:] == [None] * 7
    assert sum(result[7:-7]) > 1_000  # about one in eleven numbers has the right check digit


@pytest.mark.parametrize("number", [
    "2363", "123451", "1428570", "1234567890120", "84736430954837284567892",
])
def test_published_verhoeff_examples_pass(number):
    assert verhoeff_valid(number)


@pytest.mark.parametrize("number", [
    "2364", "123452", "1428571", "1234567890121", "84736430954837284567893",
    "2336",  # two digits swapped: the error Verhoeff's scheme always catches
])
def test_altered_verhoeff_examples_fail(number):
    assert not verhoeff_valid(number)


@pytest.mark.parametrize("concept, meaning", [
    ("138875005", "SNOMED CT Concept (the root)"),
    ("404684003", "Clinical finding"),
    ("22298006", "Myocardial infarction"),
    ("71388002", "Procedure"),
    ("77477000", "Computerized axial tomography"),
    ("363680008", "Radiographic imaging procedure"),
])
def test_published_snomed_ct_concept_ids_are_valid(concept, meaning):
    assert snomed_id_valid(concept, *SNOMED), meaning


@pytest.mark.parametrize("value, why", [
    ("22298007", "last digit changed"),
    ("022298006", "leading zero"),
    ("22298016", "partition 01 is not a concept or description id"),
    ("12345", "fewer than 6 digits"),
])
def test_invalid_snomed_ct_ids_are_refused(value, why):
    assert not snomed_id_valid(value, *SNOMED), why


def test_the_spec_gives_the_snomed_ct_code_and_the_nhs_number_their_published_shapes():
    snomed = load_layouts()["2.0"].item("snomed_code")
    assert snomed.digits is not None
    assert (snomed.digits["min"], snomed.digits["max"], snomed.partitions) == SNOMED
    nhs = load_layouts()["2.0"].item("nhs_number")
    assert nhs.digits == {"min": 10, "max": 10} and set((nhs.ignore or {}).values()) == {" ", "-"}
