"""Reads of submissions, and who sees what: organisation scoping lives here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, connections, router
from django.db.models import Count, Max, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import ApiToken
from accounts.selectors import is_national, provider_organisation_codes
from reference.models import (
    Code,
    Organisation,
    ReferenceRelease,
    Site,
    SnomedConcept,
    SubmittingArrangement,
)
from reference.models import (
    NicipCode as NicipModel,
)
from submissions.engine import (
    RULESET_VERSION,
    Arrangement,
    NicipCode,
    OrgRef,
    ReferenceSnapshot,
    SiteRef,
    SnomedCode,
)
from submissions.engine.snapshot_file import snapshot_bytes
from submissions.models import Finding, Submission
from submissions.snapshot_cache import (
    snapshot_cache_key,
    snapshot_cache_path,
    snapshot_cache_read,
    snapshot_cache_write,
)


def visible_organisation_codes(*, user: Any, token: ApiToken | None = None) -> set[str] | None:
    """Organisation codes whose submissions this user or token may see; None means all."""
    if token is None and is_national(user):
        return None
    return provider_organisation_codes(user, token=token)


def submission_list_for(*, user: Any, token: ApiToken | None = None) -> QuerySet[Submission]:
    queryset = Submission.objects.select_related("organisation", "submitted_by", "job",
                                                 "reference_release")
    codes = visible_organisation_codes(user=user, token=token)
    if codes is None:
        return queryset
    return queryset.filter(organisation_id__in=codes)


def submission_get_for(*, user: Any, pk: Any, token: ApiToken | None = None) -> Submission:
    """The submission if this user may see it; otherwise 404, whether or not it exists."""
    try:
        return submission_list_for(user=user, token=token).get(pk=int(pk))
    except (Submission.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such submission.") from exc


def finding_list(*, submission: Submission, rule: str = "", severity: str = "",
                 item: str = "") -> QuerySet[Finding]:
    """A version's findings in file order, narrowed to a rule, a severity and an item if given."""
    queryset = Finding.objects.filter(submission=submission)
    if rule:
        queryset = queryset.filter(rule=rule)
    if severity:
        queryset = queryset.filter(severity=severity)
    if item:
        queryset = queryset.filter(item=item)
    return queryset.order_by("line", "id")


@dataclass(frozen=True)
class FindingGroup:
    rule: str
    severity: str
    item: str
    count: int


@dataclass(frozen=True)
class FindingCounts:
    """A version's findings counted by (rule, severity, item) in one GROUP BY query.

    Every count a findings page shows (by rule, the items, a filter's total) adds up these
    groups, of which there are at most rules x items, however many findings there are."""

    groups: tuple[FindingGroup, ...]

    def total(self, *, rule: str = "", severity: str = "", item: str = "") -> int:
        return sum(g.count for g in self.groups
                   if (not rule or g.rule == rule) and (not severity or g.severity == severity)
                   and (not item or g.item == item))

    def by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for g in self.groups:
            counts[g.rule] = counts.get(g.rule, 0) + g.count
        return counts

    def items(self) -> list[str]:
        """The data items findings name, sorted (findings about the whole record name none)."""
        return sorted({g.item for g in self.groups if g.item})


def finding_counts(*, submission: Submission) -> FindingCounts:
    rows = (Finding.objects.filter(submission=submission).order_by()
            .values_list("rule", "severity", "item").annotate(count=Count("id")))
    return FindingCounts(tuple(FindingGroup(rule, severity, item, count)
                               for rule, severity, item, count in rows))


def code_list_codes() -> dict[str, list[str]]:
    """Every code of every code list (list name -> codes, sorted), for the rules page."""
    codes: dict[str, list[str]] = {}
    for list_name, code in (Code.objects.order_by("code_list_id", "code")
                            .values_list("code_list_id", "code").distinct()):
        codes.setdefault(list_name, []).append(code)
    return codes


REFERENCE_MODELS = (Code, NicipModel, SnomedConcept, Organisation, Site, SubmittingArrangement)


def reference_fingerprint(release: ReferenceRelease | None) -> str:
    """Changes whenever the reference data may have (``snapshot_cache.snapshot_cache_key``)."""
    tables = [(model.history.model.objects.aggregate(newest=Max("history_id"))["newest"],  # type: ignore[attr-defined]
               model.objects.count()) for model in REFERENCE_MODELS]
    return snapshot_cache_key(host=connection.settings_dict["HOST"], name=connection.settings_dict["NAME"],
                              release_pk=release.pk if release else None, tables=tables)


def reference_snapshot_load() -> tuple[ReferenceSnapshot, ReferenceRelease | None]:
    """The reference data in the database, as the plain snapshot the engine checks against.

    Built from the tables once per change of the data (``reference_fingerprint``), then read
    back from a pickle under MEDIA_ROOT/cache/ (the portal's own folder, as private as the
    uploads): a full release, 75,000 rows, takes a second or more to build and a few
    milliseconds to read. ``manage.py dids_check`` reads the same file without Django
    (``submissions.quick_check``) once this has written it."""
    release = ReferenceRelease.objects.first()
    if not settings.DIDS_REFERENCE_SNAPSHOT_CACHE:
        return _reference_snapshot_build(release), release
    cache = snapshot_cache_path(settings.MEDIA_ROOT, reference_fingerprint(release))
    snapshot = snapshot_cache_read(cache)
    if snapshot is None:
        snapshot = _reference_snapshot_build(release)
        snapshot_cache_write(cache, snapshot)
    return snapshot, release


def _reference_snapshot_build(release: ReferenceRelease | None) -> ReferenceSnapshot:
    code_lists: dict[str, dict[str, list[tuple[Any, Any]]]] = {}
    for list_name, code, valid_from, valid_to in Code.objects.values_list(
        "code_list_id", "code", "valid_from", "valid_to"
    ):
        code_lists.setdefault(list_name, {}).setdefault(code, []).append((valid_from, valid_to))
    return ReferenceSnapshot(
        release=release.label if release else "no reference release loaded",
        code_lists=code_lists,
        nicip={
            code: NicipCode(code, modality, snomed_id, valid_from, valid_to)
            for code, modality, snomed_id, valid_from, valid_to in NicipModel.objects.values_list(
                "code", "modality", "snomed_id", "valid_from", "valid_to")
        },
        snomed={
            cid: SnomedCode(cid, modality, valid_from, valid_to)
            for cid, modality, valid_from, valid_to in SnomedConcept.objects.values_list(
                "concept_id", "modality", "valid_from", "valid_to")
        },
        organisations={
            code: OrgRef(code, type_, opened, closed)
            for code, type_, opened, closed in Organisation.objects.values_list(
                "code", "type", "opened", "closed")
        },
        sites={
            code: SiteRef(code, org, opened, closed)
            for code, org, opened, closed in Site.objects.values_list(
                "code", "organisation_id", "opened", "closed")
        },
        arrangements=[
            Arrangement(submitter, org, valid_from, valid_to)
            for submitter, org, valid_from, valid_to in SubmittingArrangement.objects.values_list(
                "submitter_id", "organisation_id", "valid_from", "valid_to")
        ],
    )


def reference_snapshot_file(*, compress: bool = False) -> tuple[bytes, str]:
    """The reference snapshot as the versioned file ``dids-check`` reads, and a file name for it."""
    snapshot, _release = reference_snapshot_load()
    now = timezone.now()
    data = snapshot_bytes(snapshot, ruleset_version=RULESET_VERSION, exported_at=now,
                          compress=compress)
    name = f"dids-reference-snapshot-{now:%Y%m%d}.json" + (".gz" if compress else "")
    return data, name


# The provider status reads ------------------------------------------------------------------
# A RIS polls /api/submissions/ and /api/submissions/{id}/ many times a second. Building and
# compiling the ORM query of their columns cost more CPU than the rest of the request, so the
# statement is compiled by the ORM once per process (per database and column list) and only
# its WHERE, ORDER BY and LIMIT are added per request; the rows come back as plain dicts keyed
# as ``QuerySet.values`` keys them (a test holds the two equal).

StatusSelect = tuple[str, tuple[Any, ...], tuple[str, ...], Any]
_STATUS_SQL: dict[tuple[str, tuple[str, ...]], StatusSelect] = {}


def _status_select(alias: str, columns: tuple[str, ...]) -> StatusSelect:
    """The SELECT ... FROM ... JOIN of these columns as the ORM writes it, the names of its
    columns in order, and the ORM's converters of their values (JSONField's decoding, and on
    SQLite the dates and times): compiled once."""
    key = (alias, columns)
    if key not in _STATUS_SQL:
        query = Submission.objects.using(alias).order_by().values(*columns).query
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        converters = list(compiler.get_converters(
            [s[0] for s in compiler.select[:compiler.col_count]]).items())
        _STATUS_SQL[key] = (sql, tuple(params), tuple(query.values_select), converters)
    return _STATUS_SQL[key]


class StatusRows:
    """The status rows of the versions of some organisations (None: all), newest or oldest
    first, as DRF's CursorPagination reads a queryset: ``order_by("-id")`` or ``("id")``,
    ``filter(id__lt=...)`` or ``(id__gt=...)`` and one slice, which runs one SQL statement."""

    model = Submission

    def __init__(self, *, codes: set[str] | None, columns: tuple[str, ...], pk: int | None = None,
                 descending: bool = True, below: int | None = None,
                 above: int | None = None) -> None:
        self.codes, self.columns, self.pk = codes, columns, pk
        self.descending, self.below, self.above = descending, below, above

    def _copy(self, **changes: Any) -> StatusRows:
        values = {"codes": self.codes, "columns": self.columns, "pk": self.pk,
                  "descending": self.descending, "below": self.below, "above": self.above}
        return StatusRows(**{**values, **changes})

    def order_by(self, *fields: str) -> StatusRows:
        if fields not in (("-id",), ("id",)):
            raise ValueError(f"The status rows are ordered by id only, not {fields}.")
        return self._copy(descending=fields == ("-id",))

    def filter(self, **conditions: Any) -> StatusRows:
        changes = {}
        for name, value in conditions.items():
            if name not in ("id__lt", "id__gt", "pk"):
                raise ValueError(f"The status rows filter on id only, not {name}.")
            changes[{"id__lt": "below", "id__gt": "above", "pk": "pk"}[name]] = int(value)
        return self._copy(**changes)

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        if not isinstance(window, slice) or window.step is not None or window.stop is None:
            raise TypeError("The status rows take one slice, [start:stop].")
        start, stop = window.start or 0, window.stop
        if self.codes is not None and not self.codes:
            return []
        alias = router.db_for_read(Submission)
        sql, params, names, converters = _status_select(alias, self.columns)
        db = connections[alias]
        table = db.ops.quote_name(Submission._meta.db_table)
        ident = f"{table}.{db.ops.quote_name('id')}"
        where, args = [], list(params)
        if self.codes is not None:
            codes = sorted(self.codes)
            where.append(f"{table}.{db.ops.quote_name('organisation_id')} IN "
                         f"({', '.join(['%s'] * len(codes))})")
            args.extend(codes)
        for operator, value in (("=", self.pk), ("<", self.below), (">", self.above)):
            if value is not None:
                where.append(f"{ident} {operator} %s")
                args.append(value)
        text = sql + (" WHERE " + " AND ".join(where) if where else "")
        text += f" ORDER BY {ident} {'DESC' if self.descending else 'ASC'}"
        text += " LIMIT %s"
        args.append(max(0, stop - start))
        if start:
            text += " OFFSET %s"
            args.append(start)
        with db.cursor() as cursor:
            cursor.execute(text, args)
            rows = cursor.fetchall()
        result = []
        for row in rows:
            values = list(row)
            for position, (functions, expression) in converters:
                value = values[position]
                for function in functions:
                    value = function(value, expression, db)
                values[position] = value
            result.append(dict(zip(names, values, strict=True)))
        return result


def submission_status_rows(*, user: Any, columns: tuple[str, ...],
                           token: ApiToken | None = None) -> StatusRows:
    """The status rows of the versions this user or token may see (``submission_list_for``'s
    organisations), to page with CursorPagination or to narrow to one id with ``filter(pk=)``."""
    return StatusRows(codes=visible_organisation_codes(user=user, token=token), columns=columns)
