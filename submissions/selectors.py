"""Reads of submissions, and who sees what: organisation scoping lives here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
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
