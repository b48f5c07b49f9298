"""Planting one known error in a generated record, rule by rule.

Each planter mutates a record (a dict of text values) so that its rule fires, and returns the
other rules the same mutation unavoidably fires too (or None when it cannot be planted with
this reference data and month).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta

import polars as pl

from . import planting_reference  # noqa: F401  (registers the reference-data planters)
from .context import LONDON, add_months
from .identifiers import nhs_check_digit
from .planting_registry import PLANTERS, PlantedError, Planter, Record, Setting, planter


def _offset(day: date) -> str:
    return "+01:00" if datetime(day.year, day.month, day.day, 12, tzinfo=LONDON).utcoffset() == timedelta(hours=1) else "Z"


def test_day(rec: Record, s: Setting) -> date:
    return date.fromisoformat((rec[s.test] or "")[:10])


def set_day(rec: Record, s: Setting, item: str, day: date | None) -> None:
    """Set a date item (or the date of a timestamp item, keeping its time)."""
    if day is None:
        rec[item] = None
    elif s.layouts[s.version].item(item).kind == "timestamp":
        time = (rec.get(item) or "T12:00:00")[10:19] if rec.get(item) else "T12:00:00"
        rec[item] = f"{day.isoformat()}{time}{_offset(day)}"
    else:
        rec[item] = day.isoformat()


def _clear(rec: Record, *items: str) -> None:
    for item in items:
        rec[item] = None


def _move_test(rec: Record, s: Setting, day: date) -> bool:
    if not s.same_version(day):
        return False
    if s.v2:
        rec[s.test] = f"{day.isoformat()}T08:00:00{_offset(day)}"
    set_day(rec, s, s.test, day)
    if s.v2:
        rec["procedure_end"] = None
    _clear(rec, "request_date", "request_received_date", "birth_date", s.report)
    if s.v2:
        rec["waiting_list_clock_start"] = None
        rec["activity_category"] = "03"
    return True


def _simple(item: str, value: str) -> Planter:
    def fn(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
        rec[item] = value or None
        return ()
    return fn


for _rid, _item, _value in [
    ("DIDS002", "nhs_number", "48573026"), ("DIDS005", "birth_date", "1987-02-30"),
    ("DIDS026", "request_date", "12/05/2025"), ("DIDS036", "request_received_date", "2025-13-01"),
    ("DIDS017", "postcode", "LS1 3E"), ("DIDS072", "accession_number", "ACC-2026-0000000000000001"),
    ("DIDS003", "nhs_number_status", "1"), ("DIDS012", "ethnic_category", "W"), ("DIDS014", "gender", "M"),
    ("DIDS021", "patient_source_setting", "4"), ("P012", "evaluation_indicator", "yes"),
    ("DIDS020", "patient_source_setting", ""), ("DIDS067", "site_code", ""),
    ("DIDS070", "accession_number", ""), ("DIDS018", "gp_practice", "B99999"),
    ("DIDS024", "referring_org", "ZZZ"), ("DIDS068", "site_code", "RR899"),
    ("DIDS023", "referrer_code", "DR SMITH"), ("DIDS009", "birth_date", "1900-01-01"),
]:
    PLANTERS[_rid] = _simple(_item, _value)


@planter("DIDS001")
def _mod11(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    nhs = rec.get("nhs_number") or "4010232137"
    rec["nhs_number"] = nhs[:9] + str((int(nhs[9]) + 1) % 10)
    return ()


@planter("P020")
def _test_range(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    for tail in range(10_000_000, 99_999_999):
        nine = f"9{tail}"
        check = nhs_check_digit(nine)
        if check is not None:
            rec["nhs_number"] = f"{nine}{check}"
            return ()
    return ()


@planter("DIDS045", "P010")
def _bad_test(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    day = test_day(rec, s)
    rec[s.test] = f"{day.isoformat()}T09:15:00+02:00" if s.v2 else f"{day.year}-{day.month}-{day.day}0"
    return ()


@planter("DIDS061")
def _bad_report(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    rec["report_date"] = test_day(rec, s).strftime("%Y%m%d")
    return ()


@planter("P017")
def _bad_clock(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    rec["activity_category"], rec["waiting_list_clock_start"] = "01", "2026-02-30"
    return ()


@planter("DIDS069")
def _short_site(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    rec["site_code"] = s.org[:3] if len(s.org) < 5 else "RR8"
    return ("DIDS068",)


@planter("P013")
def _category(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    rec["activity_category"], rec["waiting_list_clock_start"] = "04", None
    return ()


@planter("P018")
def _clock_without_list(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    rec["activity_category"] = "03"
    rec["waiting_list_clock_start"] = rec.get("request_date") or test_day(rec, s).isoformat()
    return ()


@planter("P014")
def _snomed_check(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    sct = rec.get("snomed_code") or "399208008"
    rec["snomed_code"] = sct[:-1] + str((int(sct[-1]) + 1) % 10)
    return ()


@planter("DIDS050")
def _no_test(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    rec[s.test] = None
    return ()


@planter("DIDS056")
def _no_codes(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    _clear(rec, "nicip_code", "snomed_code")
    return ()


@planter("DIDS073")
def _no_patient(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    _clear(rec, "nhs_number", "birth_date", "ethnic_category", "gender", "postcode", "gp_practice")
    return ()


@planter("DIDS074")
def _pseudo_only(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    _clear(rec, "nhs_number", "birth_date", "ethnic_category", "gender", "gp_practice")
    rec["postcode"] = "ZZ99 3VZ"
    return ()


def _order(fn: Callable[[Record, Setting, date], tuple[str, ...]]) -> Planter:
    def wrapped(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
        return fn(rec, s, test_day(rec, s))
    return wrapped


def _d(day: date, days: int) -> str:
    return (day + timedelta(days=days)).isoformat()


PLANTERS["DIDS027"] = _order(lambda r, s, t: (r.update(request_received_date=_d(date.fromisoformat(r["request_date"] or t.isoformat()), -1)), ())[1])
PLANTERS["DIDS034"] = _order(lambda r, s, t: (r.update(request_date=_d(t, 1), request_received_date=None, **{s.report: None}), ())[1])
PLANTERS["DIDS043"] = _order(lambda r, s, t: (r.update(request_received_date=_d(t, 1), request_date=_d(t, 0), **{s.report: None}), ())[1])
PLANTERS["DIDS006"] = _order(lambda r, s, t: (r.update(birth_date=_d(t, 1), **{s.report: None}), ())[1])


def _report_before_test(rec: Record, s: Setting, t: date, **extra: str | None) -> None:
    _clear(rec, "request_date", "request_received_date", "birth_date")
    rec.update(extra)
    if s.v2:
        start = rec["procedure_start"] or ""
        rec["report_issued"] = f"{_d(t, -1)}{start[10:19]}{_offset(t - timedelta(days=1))}"
        rec["procedure_end"] = None
    else:
        rec["report_date"] = _d(t, -1)


PLANTERS["DIDS048"] = _order(lambda r, s, t: (_report_before_test(r, s, t), ())[1])  # type: ignore[func-returns-value]  # called for its effect; the tuple's [1] is the value
PLANTERS["DIDS035"] = _order(lambda r, s, t: (_report_before_test(r, s, t, request_date=_d(t, 0)), ("DIDS048",))[1])  # type: ignore[func-returns-value]  # called for its effect; the tuple's [1] is the value
PLANTERS["DIDS044"] = _order(lambda r, s, t: (_report_before_test(r, s, t, request_received_date=_d(t, 0)), ("DIDS048",))[1])  # type: ignore[func-returns-value]  # called for its effect; the tuple's [1] is the value
PLANTERS["DIDS008"] = _order(lambda r, s, t: (_report_before_test(r, s, t, birth_date=_d(t, 0)), ("DIDS048",))[1])  # type: ignore[func-returns-value]  # called for its effect; the tuple's [1] is the value


@planter("DIDS010", "DIDS040")
def _fetal(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    t = test_day(rec, s)
    early = add_months(t, -8).isoformat()
    if rec.get("_rule") == "DIDS010":
        rec.update(request_date=early, request_received_date=None)
    else:
        rec.update(request_received_date=early, request_date=None)
    rec["birth_date"] = _d(t, -10)
    if s.v2:
        rec["waiting_list_clock_start"], rec["activity_category"] = None, "03"
    return ()


@planter("DIDS031")
def _old_request(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    rec.update(request_date="1969-12-31", birth_date=None, referring_org="X99998")
    if s.v2:
        rec["waiting_list_clock_start"], rec["activity_category"] = None, "03"
    return ("DIDS028",)


@planter("DIDS041")
def _old_received(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    rec.update(request_received_date="1969-12-31", request_date=None, birth_date=None, referring_org="X99998")
    return ("DIDS038",)


@planter("DIDS028", "DIDS038")
def _long_wait(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    old = _d(test_day(rec, s), -400)
    if rec.get("_rule") == "DIDS028":
        rec.update(request_date=old, request_received_date=None, birth_date=None)
        if s.v2:
            rec["waiting_list_clock_start"], rec["activity_category"] = None, "03"
    else:
        rec.update(request_received_date=old, request_date=None, birth_date=None)
    return ()


@planter("P015")
def _end_before_start(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...]:
    start = rec["procedure_start"] or ""
    local = datetime.fromisoformat(start[:19]) - timedelta(minutes=30)
    rec["procedure_end"] = local.strftime("%Y-%m-%dT%H:%M:%S") + start[19:]
    return ()


@planter("DIDS051")
def _future_test(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    return ("P016",) if _move_test(rec, s, s.as_of + timedelta(days=1)) else None


@planter("DIDS066")
def _future_report(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    set_day(rec, s, s.test, s.month_end)
    if s.v2:
        rec["procedure_end"] = None
    set_day(rec, s, s.report, s.as_of + timedelta(days=1))
    return ()


@planter("P016")
def _outside_month(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    before = s.month - timedelta(days=1)
    return () if _move_test(rec, s, before) or _move_test(rec, s, s.as_of) else None


@planter("DIDS062")
def _late_report(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    if not _move_test(rec, s, s.month - timedelta(days=5)):
        return None
    set_day(rec, s, s.report, s.month_end)
    return ("P016",)


@planter("DIDS055", "DIDS049")
def _old_activity(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    months = 6 if rec.get("_rule") == "DIDS055" else 3
    day = add_months(s.as_of, -months) - timedelta(days=1)
    return ("P016",) if _move_test(rec, s, day) else None



def applicable(rule_id: str, version: str) -> bool:
    from .rules import load_rules

    try:
        load_rules().get(rule_id, version)
    except KeyError:
        return False
    return rule_id in PLANTERS


def plant_one(rec: Record, s: Setting, rule_id: str, prev: Record | None) -> tuple[str, ...] | None:
    """Mutate one record so rule_id fires; the other rule ids that fire too, or None."""
    if not applicable(rule_id, s.version):
        return None
    rec["_rule"] = rule_id
    try:
        also = PLANTERS[rule_id](rec, s, prev)
    finally:
        rec.pop("_rule", None)
    return also


def plant(df: pl.DataFrame, s: Setting, rate: float, rng: random.Random, rule_ids: list[str],
          header: bool = True) -> tuple[pl.DataFrame, list[PlantedError]]:
    """Plant about rate * rows errors on distinct, non-adjacent rows, cycling through rule_ids."""
    rules = [r for r in rule_ids if applicable(r, s.version)]
    count = min(max(1, round(df.height * rate)), df.height // 2)
    rows = sorted(rng.sample(range(1, df.height, 2), min(count, len(range(1, df.height, 2)))))
    records = df[rows].to_dicts()
    prevs = df[[i - 1 for i in rows]].to_dicts()
    planted: list[PlantedError] = []
    for n, (i, rec, prev) in enumerate(zip(rows, records, prevs, strict=True)):
        rule = rules[(n + rng.randrange(len(rules))) % len(rules)]
        also = plant_one(rec, s, rule, prev)
        if also is None:
            continue
        planted.append(PlantedError(line=i + (2 if header else 1), rule=rule, also=also))
    patched = pl.DataFrame(records, schema=df.schema).with_columns(pl.Series("_i", rows, dtype=pl.UInt32))
    df = df.with_row_index("_i").update(patched, on="_i", include_nulls=True).drop("_i")
    return df, planted
