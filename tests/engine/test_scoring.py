"""The data-quality score per item, computed by hand on small files (scoring.py)."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest

from submissions.engine import validate
from submissions.engine.layout import load_layouts
from submissions.engine.scoring import SCORED_ITEMS, QualityTally, combine, score_of

from .conftest import GOLDEN, context_for

V1 = (GOLDEN / "v1.0" / "clean.csv").read_text().strip("\n").split("\n")
V2 = (GOLDEN / "v2.0" / "clean.csv").read_text().strip("\n").split("\n")


def four_records(lines: list[str], edits: dict[int, dict[str, str]]) -> bytes:
    cols = lines[0].split(",")
    out = [lines[0]]
    for index in range(1, 5):
        cells = lines[index].split(",")
        for item, value in edits.get(index, {}).items():
            cells[cols.index(item)] = value
        out.append(",".join(cells))
    return ("\n".join(out) + "\n").encode()


def check(data: bytes, reference, month: date, *, storing: bool = False):
    batches = []
    return validate(
        io.BytesIO(data),
        context=context_for(month),
        reference=reference,
        on_clean_batch=batches.append if storing else None,
    )


def test_a_clean_file_scores_100_on_every_item(reference):
    report = check(four_records(V1, {}), reference, date(2026, 2, 1))
    assert {k: q["share"] for k, q in report.quality.items()} == {
        s.key: 100.0 for s in SCORED_ITEMS
    }
    assert report.quality_score == 100.0


def test_four_records_with_known_defects_give_exact_shares_and_mean(reference):
    # record 1: ethnic category Z (a default) and gender 9 (a default)
    # record 2: GP practice V81999 (a default) and no report date (not present)
    # record 3: a birth date that is not a date (invalid, so the record is rejected: still scored)
    # record 4: a referrer code failing its patterns (a warning: invalid) and a ZZ99 postcode
    data = four_records(
        V1,
        {
            1: {"ethnic_category": "Z", "gender": "9"},
            2: {"gp_practice": "V81999", "report_date": ""},
            3: {"birth_date": "1961-13-45"},
            4: {"referrer_code": "QQ1", "postcode": "ZZ99 3VZ"},
        },
    )
    report = check(data, reference, date(2026, 2, 1))
    shares = {k: q["share"] for k, q in report.quality.items()}
    assert shares == {
        "nhs_number": 100.0,
        "birth_date": 75.0,
        "gender": 75.0,
        "ethnic_category": 75.0,
        "postcode": 75.0,
        "gp_practice": 75.0,
        "patient_source_setting": 100.0,
        "referrer_code": 75.0,
        "imaging_code": 100.0,
        "request_date": 100.0,
        "request_received_date": 100.0,
        "test_date": 100.0,
        "report_date": 75.0,
    }
    assert report.quality["birth_date"] == {
        "label": "Birth date",
        "records": 4,
        "present": 4,
        "valid": 3,
        "good": 3,
        "share": 75.0,
    }
    assert report.quality["gender"]["valid"] == 4 and report.quality["gender"]["good"] == 3
    assert report.quality["report_date"]["present"] == 3
    # 7 items at 75 and 6 at 100: (7 * 75 + 6 * 100) / 13 = 86.538...
    assert report.quality_score == 86.5 == round((7 * 75 + 6 * 100) / 13, 1)


def test_a_v2_file_scores_the_procedure_start_and_report_timestamp(reference):
    data = four_records(
        V2, {1: {"report_issued": ""}, 2: {"procedure_start": "2026-10-32T10:00:00Z"}}
    )
    report = check(data, reference, date(2026, 10, 1))
    assert report.quality["report_date"]["share"] == 75.0
    assert report.quality["test_date"]["share"] == 75.0
    assert report.quality["birth_date"]["share"] == 100.0


def test_a_referrer_default_code_is_valid_but_not_good(reference):
    report = check(
        four_records(V1, {1: {"referrer_code": "G9999998"}}), reference, date(2026, 2, 1)
    )
    assert report.quality["referrer_code"] == {
        "label": "Referrer code",
        "records": 4,
        "present": 4,
        "valid": 4,
        "good": 3,
        "share": 75.0,
    }


@pytest.mark.parametrize(
    ("column", "plain", "written"),
    [
        ("ethnic_category", ["A", "Z"], ["A", "z"]),
        ("gp_practice", ["B86006", "V81999"], ["B86006", "v81 999"]),
        ("nhs_number", ["7094722796", "9999999999"], ["7094722796", "999-999 9999"]),
        ("postcode", ["LS63BG", "ZZ993VZ"], ["LS6 3BG", "zz99 3vz"]),
    ],
)
def test_a_default_code_counts_however_it_is_written_and_whatever_the_batch_holds(
    column, plain, written
):
    # a batch of values that are only digits and capitals is compared as it is; a batch
    # with any other value is normalised (upper case, no spaces or hyphens) first
    layout = load_layouts()["1.0"]
    key = next(s.key for s in SCORED_ITEMS if layout.resolve(s.items[0]) == column)
    counts = []
    for values in (plain, written, [plain[0], written[1]]):
        df = pl.DataFrame({c: [None] * len(values) for c in layout.columns}, schema=dict.fromkeys(layout.columns, pl.String))
        tally = QualityTally()
        tally.add(df.with_columns(pl.Series(column, values)), layout, {}, {})
        counts.append(tally.items[key])
    assert [(t.present, t.valid, t.good) for t in counts] == [(2, 2, 1)] * 3


def test_accepted_records_are_counted_by_modality_and_site_when_stored(reference):
    data = four_records(V1, {3: {"birth_date": "1961-13-45"}})
    report = check(data, reference, date(2026, 2, 1), storing=True)
    assert sum(n for sites in report.record_counts.values() for n in sites.values()) == 3
    assert check(data, reference, date(2026, 2, 1)).record_counts == {}


def test_stored_counts_combine_into_a_month_and_score_again():
    a = {"gender": {"label": "Gender", "records": 4, "present": 4, "valid": 4, "good": 3}}
    b = {"gender": {"label": "Gender", "records": 6, "present": 6, "valid": 6, "good": 6}}
    assert combine([a, b])["gender"]["share"] == 90.0
    assert score_of(combine([a, b])) == 90.0
    assert score_of({}) is None


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_every_scored_item_names_columns_of_both_layouts(version):
    from submissions.engine.layout import load_layouts

    layout = load_layouts()[version]
    for item in SCORED_ITEMS:
        assert all(layout.has(layout.resolve(name)) for name in item.items), item.key


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_the_prepared_postcode_is_normalised_as_the_score_normalises_it(version):
    # the score reads prepare's _pcn for the postcode's default test (scoring.NORMALISED)
    from submissions.engine.checks.prepare import NORMALISED, postcode_exprs

    values = ["LS6 3BG", "ls6 3bg", "LS63BG", "LS6  3BG", "L S6 3BG", "A", "AB C", "ZZ99 3VZ",
              "zz99 3vz", "ZZ9 93V", "E1 2ÀB", "ß1 2AB", "LS6-3BG", "SW1A 1AA", None]
    frame = pl.DataFrame({"postcode": values}).select(postcode_exprs(load_layouts()[version].item("postcode")))
    normal = [v.upper().replace(" ", "") if v is not None else None for v in values]
    assert frame[NORMALISED["postcode"][0]].to_list() == normal
    assert frame["_pc"].to_list() == [n[:-3] + " " + n[-3:] if n is not None else None for n in normal]


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_the_prepared_columns_the_score_reads_drop_the_characters_the_score_ignores(version):
    # the score compares NHS numbers without spaces and hyphens, postcodes without spaces
    layout = load_layouts()[version]
    assert set((layout.item("nhs_number").ignore or {}).values()) == {" ", "-"}
    assert set((layout.item("postcode").ignore or {}).values()) == {" "}


def test_a_column_is_counted_alike_whether_its_distinct_values_or_all_its_values_are_scanned():
    # a batch of mostly different values marks the column `varied`: later batches scan every value
    layout = load_layouts()["1.0"]

    def frame(values: list[str]) -> pl.DataFrame:
        empty = {c: [None] * len(values) for c in layout.columns}
        return pl.DataFrame({**empty, "gp_practice": values}, schema=dict.fromkeys(layout.columns, pl.String))

    few = frame(["B86006"] * 18 + ["v81999", "V81998"])
    varied = frame(["B86006", "v81 999", "B86005", "V81998"])
    tally = QualityTally()
    tally.add(few, layout, {}, {})
    assert tally.varied == set()
    tally.add(varied, layout, {}, {})
    assert "gp_practice" in tally.varied
    tally.add(few, layout, {}, {})
    gp = tally.items["gp_practice"]
    assert (gp.present, gp.valid, gp.good) == (44, 44, 44 - 2 - 2 - 2)
