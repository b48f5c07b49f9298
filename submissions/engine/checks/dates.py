"""Date order, date limits and dates against the submission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import polars as pl

from ..context import LONDON, CheckContext, add_months
from ..rules import Rule, allowance_words
from .env import Env
from .prepare import value_expr
from .registry import Check, kind

_TABLE_FROM, _TABLE_TO = date(1800, 1, 1), date(2299, 12, 31)


@cache
def _month_table(months: int) -> pl.Series:
    days = pl.date_range(_TABLE_FROM, _TABLE_TO, eager=True)
    return days.dt.offset_by(f"{months}mo")


def shift(day: pl.Expr, allowance: str, *, is_date: bool = True) -> pl.Expr:
    """day + allowance ("365d", "6mo"); calendar months through a precomputed table.

    Dates outside 1800-2299 are clamped into that range first (placeholders, not real dates).
    """
    if allowance.endswith("mo") and is_date:
        table = _month_table(int(allowance[:-2]))
        start = _TABLE_FROM.toordinal()
        offset = (day.cast(pl.Int32) - (start - date(1970, 1, 1).toordinal())).clip(0, table.len() - 1)
        return pl.lit(table).gather(offset)
    if allowance.endswith("d"):
        return day + pl.duration(days=int(allowance[:-1]))
    return day.dt.offset_by(allowance)


@kind("not_later")
def not_later(rule: Rule, env: Env) -> list[Check]:
    a_item, b_item = (env.col(i) for i in rule.items)
    both_ts = env.kind(a_item) == "timestamp" and env.kind(b_item) == "timestamp"
    a = value_expr(env, a_item, as_date=not both_ts)
    b = value_expr(env, b_item, as_date=not both_ts)
    allowance = rule.params.get("allowance")
    limit = shift(b, allowance, is_date=not both_ts) if allowance else b
    mask = (a > limit).fill_null(False)
    params: dict[str, object] = {"allowance": allowance_words(allowance)} if allowance else {}
    return [Check(rule, a_item, mask, other_item=b_item, extras={"other": pl.col(b_item)}, params=params)]


@kind("date_min")
def date_min(rule: Rule, env: Env) -> list[Check]:
    col = env.col(rule.items[0])
    limit = date.fromisoformat(rule.params["min"])
    mask = (value_expr(env, col, as_date=True) < pl.lit(limit)).fill_null(False)
    return [Check(rule, col, mask, params={"min": limit.isoformat()})]


@kind("not_after_submission")
def not_after_submission(rule: Rule, env: Env) -> list[Check]:
    col = env.col(rule.items[0])
    if env.kind(col) == "timestamp":
        mask = pl.col(f"_t_{col}") > pl.lit(env.ctx.as_of_utc).dt.convert_time_zone("UTC")
        shown = env.ctx.as_of_utc.isoformat(timespec="seconds")
    else:
        mask = pl.col(f"_d_{col}") > pl.lit(env.as_of_date)
        shown = env.as_of_date.isoformat()
    return [Check(rule, col, mask.fill_null(False), params={"as_of": shown})]


@kind("in_submission_month")
def in_submission_month(rule: Rule, env: Env) -> list[Check]:
    month, end = env.ctx.month, env.ctx.month_end
    if month is None or end is None:
        return []
    col = env.col(rule.items[0])
    day = pl.col("_test")
    mask = ((day < pl.lit(month)) | (day > pl.lit(end))).fill_null(False)
    return [Check(rule, col, mask, params={"month": f"{month:%B %Y}"})]


@kind("before_submission_month")
def before_submission_month(rule: Rule, env: Env) -> list[Check]:
    """Activity too long before the month of submission (DIDS055 rejects, DIDS049 warns).

    A month reopened for the organisation takes its records however late: no rejection limit
    falls after the start of its activity month (the warning still says they are late)."""
    col = env.col(rule.items[0])
    ctx = env.ctx
    late = lateness(ctx, int(rule.params["months"]), rejects=rule.severity == "reject")
    mask = pl.col("_test") < pl.lit(late.limit)
    if "unless_over" in rule.params:
        mask = mask & ~(pl.col("_test") < pl.lit(lateness(ctx, int(rule.params["unless_over"])).limit))
    extras: dict[str, pl.Expr] = {}
    if late.closed and ctx.month is not None and ctx.month_end is not None:
        in_month = pl.col("_test").is_between(pl.lit(ctx.month), pl.lit(ctx.month_end))
        extras["closed"] = pl.when(in_month).then(pl.lit(f"; {late.closed}")).otherwise(pl.lit(""))
    params = {"months": rule.params["months"], "month_start": late.submission_month.isoformat(),
              "submission_month": f"{late.submission_month:%B %Y}", "limit": late.limit.isoformat(),
              "closed": ""}
    return [Check(rule, col, mask.fill_null(False), extras=extras, params=params)]


@dataclass(frozen=True)
class Lateness:
    submission_month: date  # the first day of the month of submission
    limit: date  # activity before this day is late
    closed: str  # "March 2026 closed for submissions at ..." when the context knows it, else ""


def lateness(ctx: CheckContext, months: int, *, rejects: bool = True) -> Lateness:
    """How late is late, ``months`` months before the month of submission, for this context;
    a limit that ``rejects`` records is relaxed for a reopened month."""
    start = ctx.submission_month_start
    limit = add_months(start, -months)
    if rejects and ctx.reopened and ctx.month is not None:
        limit = min(limit, ctx.month)
    closed = ""
    if ctx.month is not None and ctx.final_deadline is not None and not ctx.reopened:
        closed = (f"{ctx.month:%B %Y} closed for submissions at "
                  f"{ctx.final_deadline.astimezone(LONDON):%H:%M:%S on %-d %B %Y} (UK time)")
    return Lateness(start, limit, closed)


def late_note(ctx: CheckContext, rule: Rule, count: int) -> str:
    """Why ``count`` records were rejected as too late (DIDS055), as one sentence's clause."""
    late = lateness(ctx, int(rule.params["months"]))
    records = "1 record is" if count == 1 else f"{count:,} records are"
    why = (f"{rule.id} rejects activity more than {rule.params['months']} months before the month of "
           f"submission ({late.submission_month:%B %Y}), that is before {late.limit:%-d %B %Y}")
    if late.closed:
        return (f"; {records} too late to submit: {late.closed}, and {why}. Ask the national "
                f"DIDS team to reopen {ctx.month:%B %Y} for your organisation if it must be sent")
    return f"; {records} too late to submit: {why}"


@kind("only_with")
def only_with(rule: Rule, env: Env) -> list[Check]:
    col, other = (env.col(i) for i in rule.items)
    values = list(rule.params["values"])
    mask = pl.col(col).is_not_null() & ~pl.col(other).is_in(values).fill_null(False)
    return [Check(rule, col, mask, other_item=other, extras={"other": pl.col(other)},
                  params={"values": ", ".join(values)})]
