"""validate(): the one entry point the portal, the CLI, the API and the benchmarks call."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from typing import IO, Any

import polars as pl
import pyarrow as pa

from .checks import Check, build_checks
from .checks.dates import late_note
from .checks.duplicates import DuplicateKeys
from .checks.env import Env
from .checks.prepare import NORMALISED, prepare
from .context import CheckContext
from .diagnosis import diagnose
from .layout import Layout, Layouts, convert_hint, load_layouts
from .masking import mask_nhs_number
from .reader import Plan, StreamState, plan_columns, prefetch, read_head, stream_batches
from .reference import ReferenceSnapshot
from .report import Finding, Report, make_finding
from .rules import Rule, Rules, english_list, load_rules
from .scoring import SCORED_ITEMS, QualityTally, count_records
from .source import FileProblem, FileRejected, Source
from .storage import storage_frame

CleanBatch = Callable[[pl.DataFrame], Any]
FindingsBatch = Callable[[list[Finding]], Any]


def validate(
    source: str | os.PathLike[str] | IO[bytes],
    context: CheckContext,
    reference: ReferenceSnapshot,
    on_clean_batch: CleanBatch | None = None,
    on_findings: FindingsBatch | None = None,
    max_findings: int | None = None,
    *,
    rules: Rules | None = None,
    use_threads: bool = False,
    record_counts: bool = True,
) -> Report:
    """Check a DIDS file against every rule and report; hand accepted rows to on_clean_batch.

    Never raises for a bad file (a missing path raises FileNotFoundError). When the report
    says file_rejected, rows already passed to on_clean_batch must be discarded: some
    file-level problems (P005, P006, a ragged row) are only known at the end.
    `rules` replaces the shipped rules data (load_rules(path)); use_threads lets pyarrow
    parse on several cores (polars follows POLARS_MAX_THREADS) in a check without callbacks:
    such a check may have to read the file again on one thread (pyarrow cannot number the
    rows it parses on several), which it can do only while nothing was handed over.
    record_counts=False leaves the report's record_counts empty, for a caller that counts
    the accepted rows it is handed itself (the ingest's statistics tally).
    """
    def start() -> _Run:
        return _Run(context, reference, on_clean_batch, on_findings, max_findings,
                    rules or load_rules(), count_records=record_counts)

    run = start()
    threads = use_threads and on_clean_batch is None and on_findings is None
    try:
        zip_limits = run.rules.by_kind("file_zip").params
        src = Source(source, max_ratio=zip_limits["max_ratio"], max_bytes=zip_limits["max_bytes"])
    except FileRejected as exc:
        return run.finish_with(exc.problem)
    try:
        try:
            run.run(src, use_threads=threads)
        except _RowsUnnumbered:
            run = start()
            run.run(src, use_threads=False)
    finally:
        src.close()
    return run.finish()


class _RowsUnnumbered(Exception):
    """A multi-threaded read skipped a blank line it could not number: read again on one thread."""


class _Run:
    def __init__(self, ctx: CheckContext, ref: ReferenceSnapshot, on_clean: CleanBatch | None,
                 on_findings: FindingsBatch | None, max_findings: int | None, rules: Rules,
                 *, count_records: bool = True):
        self.ctx, self.ref = ctx, ref
        self.on_clean, self.on_findings, self.max_findings = on_clean, on_findings, max_findings
        self.layouts: Layouts = load_layouts()
        self.rules = rules
        self.max_field = int(rules.by_kind("file_csv").params["max_field"])
        self.report = Report(reference_release=ref.release, ruleset_version=self.rules.version)
        self.expected = ctx.dataset_version or (self.layouts.version_for(ctx.month) if ctx.month else None)
        self.report.dataset_version = self.expected
        self.why = _why_version(self.expected, ctx, self.layouts)
        self.min_day: date | None = None
        self.max_day: date | None = None
        self.month_rule = False  # P016 rejects every record outside the activity month
        self.quality = QualityTally()
        self.count_records = count_records  # the report's record_counts (see validate())
        self.default_lists = {s.default_list: tuple(ref.codes(s.default_list))
                              for s in SCORED_ITEMS if s.default_list}

    # -- file-level outcomes
    def file_finding(self, problem: FileProblem, values: dict[str, Any] | None = None) -> None:
        version = self.report.dataset_version or "1.0"
        try:
            rule = self.rules.by_kind(problem.kind, version)
        except KeyError:
            rule = self.rules.by_kind(problem.kind)
        expected = problem.expected or _fmt(rule.expected, {"expected": "", **rule.params})
        message = _sentence(rule.message, {"detail": problem.detail, "why": "", **rule.params, **(values or {})})
        self.report.file_rejected = True
        self.report.counts_by_rule[rule.id] = self.report.counts_by_rule.get(rule.id, 0) + 1
        self.emit([make_finding(line=problem.line, item=None, rule=rule.id, severity="file",
                                message=message, value=None, expected=expected)])

    def finish_with(self, problem: FileProblem) -> Report:
        self.file_finding(problem)
        return self.finish()

    def finish(self) -> Report:
        """The report; a file rejected as a whole has no accepted records."""
        r = self.report
        if r.rows:
            r.quality = self.quality.to_dict()
            r.quality_score = self.quality.score()
        if r.file_rejected:
            r.accepted_rows, r.rejected_rows = 0, r.rows
            r.record_counts = {}
        r.findings.sort(key=lambda f: f.severity != "file")  # the file's verdict first
        return r

    def emit(self, findings: list[Finding]) -> None:
        if not findings:
            return
        if self.on_findings is not None:
            self.on_findings(findings)
        if self.max_findings is None:
            self.report.findings.extend(findings)
            return
        for f in findings:  # findings about the whole file are always listed
            if f.severity == "file" or len(self.report.findings) < self.max_findings:
                self.report.findings.append(f)
            else:
                self.report.findings_truncated = True

    def want_findings(self) -> bool:
        if self.on_findings is not None or self.max_findings is None:
            return True
        if len(self.report.findings) >= self.max_findings:
            self.report.findings_truncated = True
            return False
        return True

    # -- the main loop
    def run(self, src: Source, *, use_threads: bool) -> None:
        plan: Plan | None = None
        try:
            plan = plan_columns(read_head(src), self.layouts, self.expected, self.why)
        except FileRejected as exc:
            self.file_finding(exc.problem)
            return
        layout = plan.layout
        self.report.dataset_version = layout.version
        env = Env(layout, self.ctx, self.ref)
        rules = self.rules.for_version(layout.version)
        self.month_rule = self.ctx.month is not None and any(r.kind == "in_submission_month" for r in rules)
        checks = build_checks(rules, env)
        dup_rule = next((r for r in rules if r.kind == "duplicate_key"), None)
        dups = DuplicateKeys(tuple(env.col(i) for i in dup_rule.items)) if dup_rule else None
        state = StreamState()
        try:
            batches = stream_batches(src, plan, state, use_threads=use_threads,
                                     ramp=self.on_clean is not None, max_field=self.max_field)
            # With threads, a pipeline of three: the reader, prepare with the duplicate keys,
            # and the checks; each stage's work is mostly polars' or pyarrow's, which release
            # the GIL, so whichever stage is behind has the second core.
            prepared = _prepared(prefetch(batches) if use_threads else batches, env, dups)
            for df, dup in prefetch(prepared) if use_threads else prepared:
                self.batch(df, dup, env, checks, dup_rule)
        except FileRejected:
            self.file_finding(diagnose(src, plan, self.max_field))
            return
        except (pa.ArrowException, OSError, zipfile.BadZipFile, UnicodeDecodeError, EOFError) as exc:
            problem = diagnose(src, plan, self.max_field)
            if src.is_zip and isinstance(exc, zipfile.BadZipFile | EOFError):
                problem = FileProblem("file_zip", f"the zip member cannot be read ({exc})")
            self.file_finding(problem)
            return
        if state.unplaced_blank_rows:
            raise _RowsUnnumbered
        if state.invalid_rows:
            self.file_finding(diagnose(src, plan, self.max_field))
            return
        self.after(layout.version)

    def after(self, version: str) -> None:
        r = self.report
        if r.rows == 0:
            self.file_finding(FileProblem("file_no_records", "only a header row"))
            return
        # With an activity month, a record of another month (so perhaps of the other version)
        # is rejected by P016 on its own, not the file for mixing versions.
        if self.min_day and self.max_day and not self.month_rule:
            low, high = self.layouts.version_for(self.min_day), self.layouts.version_for(self.max_day)
            if low != high:
                self.file_finding(FileProblem(
                    "file_versions", f"activity dates from {self.min_day} to {self.max_day}: v{low} and v{high}"))
            elif low != version and self.expected is None:
                want = self.layouts[low]
                self.file_finding(FileProblem(
                    "file_layout",
                    f"the file has the v{version} layout but its activity dates "
                    f"({self.min_day} to {self.max_day}) need v{low}" + convert_hint(version, low),
                    None, f"the {len(want.items)} columns of v{low}"))
        if r.accepted_rows == 0 and not r.file_rejected:
            self.file_finding(FileProblem("file_all_rejected", f"{r.rejected_rows:,} of {r.rows:,} records"),
                              {"why": self.why_late(version)})

    def why_late(self, version: str) -> str:
        """Why records were rejected as too late (DIDS055), for the file's verdict; or ""."""
        for rule in self.rules.for_version(version):
            count = self.report.counts_by_rule.get(rule.id, 0)
            if rule.kind == "before_submission_month" and rule.severity == "reject" and count:
                return late_note(self.ctx, rule, count)
        return ""

    def batch(self, df: pl.DataFrame, dup: _Dups | None, env: Env, checks: list[Check],
              dup_rule: Rule | None) -> None:
        """Check one prepared batch (see _prepared)."""
        names = [f"_m{i}" for i in range(len(checks))]
        # lazily: the checks share subexpressions (an item's presence, the imaging codes' states),
        # which one plan computes once
        df = df.lazy().with_columns(c.mask.fill_null(False).alias(n) for c, n in zip(checks, names, strict=True)).collect()
        all_checks, all_names = list(checks), list(names)
        firsts: dict[int, int] = {}
        if dup is not None and dup_rule is not None:
            dup_mask, firsts = dup
            df = df.with_columns(dup_mask.alias("_mdup"))
            all_checks.append(Check(dup_rule, dup_rule.items[0], pl.col("_mdup")))
            all_names.append("_mdup")
        rejects = [n for c, n in zip(all_checks, all_names, strict=True) if c.rule.severity == "reject"]
        reject_any = pl.any_horizontal(pl.col(n) for n in rejects) if rejects else pl.lit(False)
        day = df.select(pl.col("_test").min().alias("lo"), pl.col("_test").max().alias("hi")).row(0)
        stats = df.select(
            reject_any.sum().alias("_rejected"),
            *(pl.col(n).sum() for n in all_names),
        ).row(0, named=True)
        self.track_days(*day)
        by_column: dict[str, list[str]] = {}
        for c, n in zip(all_checks, all_names, strict=True):
            if c.item:
                by_column.setdefault(c.item, []).append(n)
        self.quality.add(df, env.layout, by_column, self.default_lists, NORMALISED)
        r = self.report
        r.rows += df.height
        r.rejected_rows += int(stats["_rejected"])
        r.accepted_rows += df.height - int(stats["_rejected"])
        failing = []
        for c, n in zip(all_checks, all_names, strict=True):
            count = int(stats[n])
            if count:
                r.counts_by_rule[c.rule.id] = r.counts_by_rule.get(c.rule.id, 0) + count
                failing.append((c, n))
        if failing and self.want_findings():
            self.findings(df, failing, env, firsts)
        if self.on_clean is not None:
            warn_masks: dict[str, pl.Expr] = {}
            for c, n in zip(all_checks, all_names, strict=True):
                if c.rule.severity == "warn":
                    warn_masks[c.rule.id] = warn_masks[c.rule.id] | pl.col(n) if c.rule.id in warn_masks else pl.col(n)
            stored_as = {c.item: (pl.col(n), str(c.rule.params["stored_as"]))
                         for c, n in zip(checks, names, strict=True)
                         if c.item and c.rule.severity == "warn" and "stored_as" in c.rule.params}
            clean = storage_frame(df, env.layout, warn_masks, stored_as, accepted=~reject_any)
            if clean.height:
                if self.count_records:
                    count_records(clean, self.report.record_counts)
                self.on_clean(clean)

    def track_days(self, lo: date | None, hi: date | None) -> None:
        if lo is not None:
            self.min_day = lo if self.min_day is None else min(self.min_day, lo)
        if hi is not None:
            self.max_day = hi if self.max_day is None else max(self.max_day, hi)

    def findings(self, df: pl.DataFrame, failing: list[tuple[Check, str]], env: Env,
                 firsts: dict[int, int]) -> None:
        layout = env.layout
        # One lazy plan a failing check, run together: each filters only the columns its
        # message needs (projection pushdown), not every column of the batch.
        plans = []
        for check, name in failing:
            cols: dict[str, pl.Expr] = {"line": pl.col("line")}
            if check.item:
                cols["value"] = pl.col(check.item)
            if check.rule.kind == "duplicate_key":
                cols["value"] = pl.concat_str([pl.col(env.col(i)) for i in check.rule.items], separator=", ")
            cols.update(check.extras)
            plans.append(df.lazy().filter(pl.col(name)).select(**cols))
        out: list[tuple[int, int, Finding]] = []
        for order, ((check, _name), failed) in enumerate(zip(failing, pl.collect_all(plans), strict=True)):
            rows = failed.rows(named=True)
            rule = check.rule
            names = item_names(rule, layout, check)
            for row in rows:
                value = row.get("value")
                shown = mask_nhs_number(value) if check.item == "nhs_number" else value
                values = {**rule.params, **check.params, **{k: _show(v) for k, v in row.items()},
                          **names, "value": _show(shown)}
                if rule.kind == "duplicate_key":
                    values["first_line"] = firsts.get(row["line"], "?")
                finding = make_finding(
                    line=row["line"], item=check.item, rule=rule.id, severity=rule.severity,
                    message=_sentence(rule.message, values), value=value,
                    expected=_fmt(rule.expected, values),
                )
                out.append((row["line"], order, finding))
        out.sort(key=lambda t: (t[0], t[1]))
        self.emit([f for _, _, f in out])


_Dups = tuple[pl.Series, dict[int, int]]  # DuplicateKeys.check's mask and first lines


def _prepared(batches: Iterator[pl.DataFrame], env: Env,
              dups: DuplicateKeys | None) -> Iterator[tuple[pl.DataFrame, _Dups | None]]:
    """Each non-empty batch prepared, with its duplicate keys (in file order: they remember
    the keys of the batches before)."""
    for batch in batches:
        if batch.height:
            df = prepare(batch, env)
            yield df, dups.check(df) if dups is not None else None


def _why_version(expected: str | None, ctx: CheckContext, layouts: Layouts) -> str | None:
    """Why a file must have the `expected` layout, as the start of a finding."""
    if expected is None:
        return None
    if ctx.month is not None and layouts.version_for(ctx.month) == expected:
        return f"{ctx.month:%B %Y} is a DIDS v{expected} month"
    return f"the file is checked as DIDS v{expected}"


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fmt(template: str, values: dict[str, Any]) -> str:
    return template.format_map(_Blank(values))


def _sentence(template: str, values: dict[str, Any]) -> str:
    """Fill a message template; the text starts with a capital, as a sentence does."""
    text = _fmt(template, values)
    return text[:1].upper() + text[1:]


def item_names(rule: Rule, layout: Layout, check: Check | None = None) -> dict[str, str]:
    """The display names a rule's message names: {item}, {other_item} and {items} (all of
    the rule's items in an English list), as this layout calls them."""
    names = [layout.name(c) for c in rule.items if layout.has(layout.resolve(c))]
    item = layout.item(check.item).name if check and check.item else (names[0] if names else "")
    other = (layout.item(check.other_item).name if check and check.other_item
             else names[1] if len(names) > 1 else "")
    return {"item": item, "other_item": other, "items": english_list(names)}


def _show(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return value
