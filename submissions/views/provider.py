"""Provider pages: the organisation's months, the upload page, results, history and downloads.

Pages about the active organisation use ``ProviderPageMixin`` (404 for users with no provider
role). Pages about one submission load it through ``submission_get_for``, so another
organisation's submission is a 404 and national analysts can open any of them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from accounts.models import User
from accounts.selectors import can_submit_for, is_national
from accounts.views import ProviderHomeView as AccountsProviderHomeView
from accounts.views import ProviderPageMixin, SignedInMixin
from dids_portal.lib.errors import DomainError
from dids_portal.lib.pages import BreadcrumbsMixin
from submissions import selectors
from submissions.assessment import result_context
from submissions.checking import file_check
from submissions.choices import Channel, Severity, SubmissionStatus
from submissions.cycle.diff import KINDS, PAGE_SIZE, version_compare
from submissions.cycle.lock import open_months
from submissions.downloads import submission_csv_download
from submissions.engine import Report, rules_documentation
from submissions.forms import UploadForm
from submissions.models import Submission
from submissions.services import month_start, submission_create, submission_reprocess
from submissions.views.months import MonthRow, organisation_months, recent_months

FIRST_FINDINGS = 50
# The result page shows the first few findings; the findings list pages through them all.
RESULT_FINDINGS = 10
HOME_MONTHS = 6


def rule_rows(counts_by_rule: dict[str, int]) -> list[dict[str, Any]]:
    """Counts by rule with each rule's outcome and plain explanation, worst first."""
    docs = {rule["id"]: rule for rule in rules_documentation()["rules"]}
    order = {Severity.FILE: 0, Severity.REJECT: 1, Severity.WARN: 2}
    rows = []
    for rule_id, count in counts_by_rule.items():
        rule = docs.get(rule_id, {})
        rows.append({"id": rule_id, "count": count, "severity": rule.get("severity", ""),
                     "explanation": rule.get("explanation", ""), "known": bool(rule)})
    return sorted(rows, key=lambda r: (order.get(r["severity"], 9), -r["count"], r["id"]))


def report_status(report: Report) -> str:
    """The status a check-only report would give a submission (as submission processing does)."""
    if report.file_rejected:
        return SubmissionStatus.REJECTED
    if report.counts_by_rule:
        return SubmissionStatus.ACCEPTED_WITH_WARNINGS
    return SubmissionStatus.ACCEPTED


def _month_arg(value: str) -> date:
    try:
        return month_start(value)
    except DomainError as exc:
        raise Http404("No such month.") from exc


def provider_months(organisation: Any) -> list[MonthRow]:
    """This organisation's months of the last year, newest first (the monthly cycle's view)."""
    return organisation_months(organisation_code=organisation.code)


class ProviderHomeView(AccountsProviderHomeView):
    """The provider home, with the organisation's months and what needs doing next."""

    template_name = "submissions/provider_home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        months = provider_months(self.organisation)
        steps = sorted((m for m in months if m.next_step), key=lambda m: m.urgency)
        # The table holds the recent months and every month a next step names, newest first.
        shown = {m.month for m in months[:HOME_MONTHS]} | {m.month for m in steps}
        context["months"] = [m for m in months if m.month in shown]
        context["next_steps"] = steps
        return context


class SubmissionListView(ProviderPageMixin, BreadcrumbsMixin, TemplateView):
    """Every month of the organisation with its status, deadlines and live version."""

    template_name = "submissions/submission_list.html"
    breadcrumbs = (("Home", "accounts:provider-home"),)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["months"] = provider_months(self.organisation)
        return context


class MonthHistoryView(ProviderPageMixin, BreadcrumbsMixin, TemplateView):
    """Every version of one month: who sent it, when, how, its result, and which is live."""

    template_name = "submissions/month_history.html"

    def get_breadcrumbs(self) -> list[tuple[str, str]]:
        return [("Home", reverse("accounts:provider-home")),
                ("Submissions", reverse("submissions:list"))]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        month = _month_arg(self.kwargs["month"])
        versions = list(selectors.submission_list_for(user=self.request.user)
                        .filter(organisation=self.organisation, activity_month=month)
                        .select_related("api_token").order_by("-version"))
        context.update(month=month, versions=versions)
        return context


class UploadView(ProviderPageMixin, BreadcrumbsMixin, FormView):
    """Choose a file and its month; submit it, or check it only.

    With JavaScript the page uploads with a progress bar (``static/js/upload.js``) and asks for
    JSON; without it the form posts and the result page follows the processing.
    """

    template_name = "submissions/upload.html"
    form_class = UploadForm
    breadcrumbs = (("Home", "accounts:provider-home"), ("Submissions", "submissions:list"))

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.require_submitter()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.require_submitter()
        return super().post(request, *args, **kwargs)

    def wants_json(self) -> bool:
        return "application/json" in self.request.headers.get("Accept", "")

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        # Only months that can take a file: open, or reopened for this organisation; newest first.
        kwargs["months"] = open_months(
            organisation_code=self.organisation.code, at=timezone.now(),
            months=recent_months(count=13, start=self.organisation.in_scope_from))
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        return {"activity_month": self.request.GET.get("month", "")}

    def form_invalid(self, form: UploadForm) -> HttpResponse:
        if self.wants_json():
            errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            return JsonResponse({"errors": errors}, status=400)
        return super().form_invalid(form)

    def form_valid(self, form: UploadForm) -> HttpResponse:
        upload = form.cleaned_data["file"]
        month = month_start(form.cleaned_data["activity_month"])
        if self.request.POST.get("action") == "check":
            return self.check_only(form, upload, month)
        try:
            submission, _created = submission_create(
                actor=cast(User, self.request.user), organisation_code=self.organisation.code,
                activity_month=month, upload=upload, original_name=upload.name,
                idempotency_key=self.request.POST.get("idempotency_key", ""), channel=Channel.WEB,
                request=self.request)
        except DomainError as exc:
            form.add_error("file", exc.message)
            return self.form_invalid(form)
        result_url = reverse("submissions:detail", args=[submission.pk])
        if self.wants_json():
            return JsonResponse({"id": submission.pk, "version": submission.version,
                                 "result_url": result_url,
                                 "status_url": f"/api/submissions/{submission.pk}/"}, status=201)
        return redirect(result_url)

    def check_only(self, form: UploadForm, upload: Any, month: date) -> HttpResponse:
        try:
            report = file_check(source=upload.file, organisation_code=self.organisation.code,
                                activity_month=month, max_findings=FIRST_FINDINGS)
        except DomainError as exc:
            form.add_error("file", exc.message)
            return self.form_invalid(form)
        status = report_status(report)
        context = self.get_context_data(
            form=form, checked=True, report=report, month=month, file_name=upload.name,
            status=status, status_label=SubmissionStatus(status).label,
            rules=rule_rows(report.counts_by_rule), findings=report.findings[:FIRST_FINDINGS])
        return self.response_class(request=self.request, template=["submissions/check_result.html"],
                                   context=context, using=self.template_engine)


def submission_breadcrumbs(request: HttpRequest, submission: Submission) -> list[dict[str, str]]:
    if is_national(request.user):
        return [{"text": "Audit", "href": reverse("national:audit")}]
    month = f"{submission.activity_month:%Y-%m}"
    return [{"text": "Home", "href": reverse("accounts:provider-home")},
            {"text": "Submissions", "href": reverse("submissions:list")},
            {"text": f"{submission.activity_month:%B %Y}",
             "href": reverse("submissions:month", args=[month])}]


class SubmissionDetailView(SignedInMixin, TemplateView):
    """The result of one version; refreshes itself while the version is being processed."""

    template_name = "submissions/submission_detail.html"
    refresh_seconds = 2

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        submission = selectors.submission_get_for(user=self.request.user, pk=self.kwargs["pk"])
        findings = []
        if submission.is_finished:
            findings = list(selectors.finding_list(submission=submission)[:RESULT_FINDINGS])
        counts_by_rule = submission.counts_by_rule or {}
        context.update(
            submission=submission, job=getattr(submission, "job", None),
            rules=rule_rows(counts_by_rule), findings=findings,
            first_findings=RESULT_FINDINGS, findings_total=sum(counts_by_rule.values()),
            findings_url=reverse("submissions:findings", args=[submission.pk])
            if submission.is_finished and submission.status != SubmissionStatus.FAILED else "",
            can_submit=can_submit_for(self.request.user, submission.organisation_id),
            breadcrumbs=submission_breadcrumbs(self.request, submission),
            refresh_seconds=None if submission.is_finished else self.refresh_seconds,
            **result_context(submission),
        )
        return context


class _CsvDownloadView(SignedInMixin, View):
    kind = ""

    def get(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        submission = selectors.submission_get_for(user=request.user, pk=pk)
        if not submission.is_finished:
            raise Http404("The version is still being processed.")
        return submission_csv_download(request=request, submission=submission, kind=self.kind)


class FindingsCsvView(_CsvDownloadView):
    kind = "findings"


class AnnotatedCsvView(_CsvDownloadView):
    kind = "annotated"


class ReprocessView(SignedInMixin, View):
    """Queue a failed version again from its stored file (its organisation's submitters)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        submission = selectors.submission_get_for(user=request.user, pk=pk)
        if not can_submit_for(request.user, submission.organisation_id):
            raise PermissionDenied("Only the organisation's submitters can do this.")
        try:
            submission_reprocess(actor=cast(User, request.user), submission=submission, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("submissions:detail", pk=submission.pk)


class VersionDiffView(ProviderPageMixin, BreadcrumbsMixin, TemplateView):
    """What changed between two versions of a month, by record key (site, accession number)."""

    template_name = "submissions/version_diff.html"

    def get_breadcrumbs(self) -> list[tuple[str, str]]:
        return [("Home", reverse("accounts:provider-home")),
                ("Submissions", reverse("submissions:list")),
                (f"{_month_arg(self.kwargs['month']):%B %Y}",
                 reverse("submissions:month", args=[self.kwargs["month"]]))]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        month = _month_arg(self.kwargs["month"])
        visible = selectors.submission_list_for(user=self.request.user).filter(
            organisation=self.organisation, activity_month=month)
        try:
            old = visible.get(version=int(self.request.GET.get("from", "")))
            new = visible.get(version=int(self.request.GET.get("to", "")))
        except (ValueError, Submission.DoesNotExist) as exc:
            raise Http404("No such versions.") from exc
        kind = self.request.GET.get("kind", "")
        kind = kind if kind in KINDS else ""
        try:
            page = max(int(self.request.GET.get("page", "1")), 1)
        except ValueError:
            page = 1
        summary, rows = version_compare(old=old, new=new, kind=kind or None, page=page)
        total = summary.count(kind or None)
        pages = max(1, -(-total // PAGE_SIZE))
        if page > pages:  # past the end: the last page instead
            page = pages
            summary, rows = version_compare(old=old, new=new, kind=kind or None, page=page)
        query = {"from": old.version, "to": new.version, **({"kind": kind} if kind else {})}
        context.update(month=month, old=old, new=new, summary=summary, rows=rows, kind=kind,
                       total=total, page=page, pages=pages, page_size=PAGE_SIZE,
                       first=(page - 1) * PAGE_SIZE + 1, last=(page - 1) * PAGE_SIZE + len(rows),
                       previous_query=urlencode({**query, "page": page - 1}),
                       next_query=urlencode({**query, "page": page + 1}))
        return context
