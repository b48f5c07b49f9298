"""Checks against reference data: imaging codes, organisations and sites."""

from __future__ import annotations

import polars as pl

from ..rules import Rule
from .env import Env
from .registry import Check, kind


def _within(on: pl.Expr, start: pl.Expr, end: pl.Expr, grace_days: int) -> pl.Expr:
    after_start = (start.is_null() | (on >= start)).fill_null(True)
    before_end = (end.is_null() | (on <= end + pl.duration(days=grace_days))).fill_null(True)
    return after_start & before_end


def imaging_state(grace_days: int) -> dict[str, pl.Expr]:
    on = pl.col("_code_on")
    n_given = pl.col("nicip_code").is_not_null()
    n_valid = pl.col("_n_found").fill_null(False) & _within(on, pl.col("_n_from"), pl.col("_n_to"), grace_days)
    s_given = pl.col("_sct_ok")
    s_valid = s_given & pl.col("_s_found").fill_null(False) & _within(
        on, pl.col("_s_from"), pl.col("_s_to"), grace_days)
    return {
        "nicip_given": n_given, "nicip_valid": n_valid, "nicip_invalid": n_given & ~n_valid,
        "snomed_given": s_given, "snomed_valid": s_valid, "snomed_invalid": s_given & ~s_valid,
    }


@kind("imaging_code")
def imaging_code(rule: Rule, env: Env) -> list[Check]:
    p = rule.params
    st = imaging_state(int(p.get("grace_days", 0)))
    code, other = p["code"], "snomed" if p["code"] == "nicip" else "nicip"
    col, other_col = f"{code}_code", f"{other}_code"
    extras: dict[str, pl.Expr] = {"on": pl.col("_code_on")}
    case = p["case"]
    if case == "invalid":
        others = {
            "any": pl.lit(True),
            "valid": st[f"{other}_valid"],
            "invalid": st[f"{other}_invalid"],
            "absent_or_invalid": ~st[f"{other}_valid"],
            "valid_or_absent": ~st[f"{other}_invalid"],
        }
        mask = st[f"{code}_invalid"] & others[p.get("other", "any")]
    elif case == "not_mapped":
        mapped = pl.col("_n_sct")
        mask = st["nicip_valid"] & st["snomed_valid"] & (mapped.is_null() | (mapped != pl.col("snomed_code")))
        extras |= {"other": pl.col("snomed_code"), "mapped": mapped}
        return [Check(rule, "nicip_code", mask.fill_null(False), other_item="snomed_code", extras=extras)]
    elif case == "retired":
        prefix = "_n" if code == "nicip" else "_s"
        retired = pl.col(f"{prefix}_to")
        mask = st[f"{code}_valid"] & (retired < pl.lit(env.as_of_date)).fill_null(False)
        extras["retired"] = retired
    else:
        raise ValueError(f"{rule.id}: unknown imaging case {case!r}")
    return [Check(rule, col, mask.fill_null(False), other_item=other_col, extras=extras,
                  params={"grace_days": p.get("grace_days", 0)})]


@kind("org_known")
def org_known(rule: Rule, env: Env) -> list[Check]:
    col = env.col(rule.items[0])
    types = set(rule.params.get("types", []))
    known = [o.code for o in env.ref.organisations.values() if not types or o.type in types]
    known += list(rule.params.get("also", []))
    if rule.params.get("sites"):
        known += list(env.ref.sites)
    mask = pl.col(col).is_not_null() & ~pl.col(col).is_in(known)
    return [Check(rule, col, mask)]


@kind("site_known")
def site_known(rule: Rule, env: Env) -> list[Check]:
    mask = pl.col("site_code").is_not_null() & pl.col("_site_org").is_null()
    return [Check(rule, "site_code", mask)]


@kind("site_owner")
def site_owner(rule: Rule, env: Env) -> list[Check]:
    if env.ctx.submitting_org is None:
        return []
    mask = pl.col("_site_org").is_not_null() & ~pl.col("_site_owner_ok").fill_null(False)
    return [Check(rule, "site_code", mask, extras={"owner": pl.col("_site_org")},
                  params={"submitter": env.ctx.submitting_org})]


def _not_open(prefix: str, on: pl.Expr) -> pl.Expr:
    opened, closed = pl.col(f"{prefix}_opened"), pl.col(f"{prefix}_closed")
    return ((opened > on).fill_null(False) | (closed < on).fill_null(False))


@kind("org_open")
def org_open(rule: Rule, env: Env) -> list[Check]:
    col = env.col(rule.items[0])
    if col == "gp_practice":
        prefix, on = "_gp", pl.col("_test")
    else:
        prefix, on = "_ro", pl.coalesce(pl.col("_d_request_date"), pl.col("_test"))
    return [Check(rule, col, _not_open(prefix, on), extras={"on": on})]


@kind("site_open")
def site_open(rule: Rule, env: Env) -> list[Check]:
    on = pl.col("_test")
    return [Check(rule, "site_code", _not_open("_site", on), extras={"on": on})]


