"""Date order, date limits and dates against the submission."""

from __future__ import annotations

from datetime import date
from functools import cache

import polars as pl

from ..context import add_months
from ..rules import Rule
from . import Check, kind
from .env import Env
from .prepare import value_expr

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
    return [Check(rule, a_item, mask, other_item=b_item, extras={"other": pl.col(b_item)})]


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
    return [Check(rule, col, mask, params={"month": month.strftime("%Y-%m")})]


@kind("before_submission_month")
def before_submission_month(rule: Rule, env: Env) -> list[Check]:
    col = env.col(rule.items[0])
    start = env.ctx.submission_month_start
    limit = add_months(start, -int(rule.params["months"]))
    mask = pl.col("_test") < pl.lit(limit)
    if "unless_over" in rule.params:
        mask = mask & ~(pl.col("_test") < pl.lit(add_months(start, -int(rule.params["unless_over"]))))
    params = {"months": rule.params["months"], "month_start": start.isoformat(), "limit": limit.isoformat()}
    return [Check(rule, col, mask.fill_null(False), params=params)]


@kind("only_with")
def only_with(rule: Rule, env: Env) -> list[Check]:
    col, other = (env.col(i) for i in rule.items)
    values = list(rule.params["values"])
    mask = pl.col(col).is_not_null() & ~pl.col(other).is_in(values).fill_null(False)
    return [Check(rule, col, mask, other_item=other, extras={"other": pl.col(other)},
                  params={"values": ", ".join(values)})]
