"""Planters for the rules about reference data: imaging codes, organisations, sites, duplicates."""

from __future__ import annotations

from datetime import date, timedelta

from .planting_registry import Record, Setting, planter


def _imaging_choice(s: Setting, *, retired: bool, kind: str) -> str | None:
    grace = timedelta(days=183)
    table = s.reference.nicip if kind == "nicip" else s.reference.snomed
    for code, ref in table.items():
        ok_from = ref.valid_from is None or ref.valid_from <= s.month
        if retired and ok_from and ref.valid_to and ref.valid_to < s.as_of and ref.valid_to + grace >= s.month_end:
            return code
        if not retired and ok_from and ref.valid_to is None:
            return code
    return None


@planter("DIDS057", "DIDS00300302", "DIDS059", "DIDS00300402", "DIDS082", "DIDSREJ012", "DIDS077", "DIDS078")
def _imaging(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    rule = rec.get("_rule")
    active_n = _imaging_choice(s, retired=False, kind="nicip")
    nicip_ref = s.reference.nicip.get(active_n or "")
    if nicip_ref is None:
        return None
    mapped = nicip_ref.snomed_code
    unmapped = next((c for c, ref in s.reference.snomed.items() if ref.valid_to is None and c != mapped
                     and (ref.valid_from is None or ref.valid_from <= s.month)), None)
    if rule == "DIDS057":
        rec.update(nicip_code="ZZZZZ", snomed_code=None)
    elif rule == "DIDS00300302":
        rec.update(nicip_code="ZZZZZ", snomed_code=mapped)
    elif rule == "DIDS059":
        rec.update(snomed_code="404684003", nicip_code="ZZZZZ" if s.v2 else None)
        return ("DIDS057",) if s.v2 else ()
    elif rule == "DIDS00300402":
        rec.update(snomed_code="404684003", nicip_code=active_n)
    elif rule in ("DIDS082", "DIDSREJ012"):
        rec.update(nicip_code=active_n, snomed_code=unmapped)
    elif rule in ("DIDS077", "DIDS078"):
        code = _imaging_choice(s, retired=True, kind="nicip" if rule == "DIDS077" else "snomed")
        if code is None:
            return None
        rec.update(nicip_code=code, snomed_code=None) if rule == "DIDS077" else rec.update(snomed_code=code, nicip_code=None)
    return ()


def _closed_on(opened: date | None, closed: date | None, day: date) -> bool:
    return (opened is not None and opened > day) or (closed is not None and closed < day)


@planter("DIDS079")
def _closed_gp(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    gp = next((o.code for o in s.reference.organisations.values()
               if o.type == "gp_practice" and o.closed and o.closed < s.month), None)
    if gp is None:
        return None
    rec["gp_practice"] = gp
    if rec.get("referring_org") == gp:
        rec["referring_org"] = s.org
    return ()


@planter("DIDS080")
def _closed_referrer(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    org = next((o.code for o in s.reference.organisations.values()
                if o.type != "gp_practice" and o.closed and o.closed < s.month - timedelta(days=400)), None)
    if org is None:
        return None
    rec["referring_org"] = org
    return ()


@planter("DIDS081")
def _closed_site(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    site = next((x.code for x in s.reference.sites.values() if x.organisation == s.org and x.closed
                 and x.closed < s.month), None)
    if site is None:
        return None
    rec["site_code"] = site
    return ()


@planter("P011")
def _other_site(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    for x in s.reference.sites.values():
        if not s.reference.may_submit_for(s.org, x.organisation, s.as_of) and not _closed_on(x.opened, x.closed, s.month_end) \
                and not _closed_on(x.opened, x.closed, s.month):
            rec["site_code"] = x.code
            return ()
    return None


@planter("DIDS071")
def _duplicate(rec: Record, s: Setting, prev: Record | None) -> tuple[str, ...] | None:
    if prev is None or not prev.get("site_code") or not prev.get("accession_number"):
        return None
    rec["site_code"], rec["accession_number"] = prev["site_code"], prev["accession_number"]
    return ()


