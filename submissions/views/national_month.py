"""The national month in pages (national analysts only; everyone else gets 404): the timetable
and its deadlines, reopenings, the cut-offs with their manifests, and extracts.

Every write goes through the cycle's services, as the API's do; the pages add forms, plain
reasons for a "no", and links between the month's steps.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts.models import User
from dids_portal.lib.errors import DomainError
from dids_portal.lib.pages import BreadcrumbsMixin
from reference.choices import PROVIDER_TYPES
from reference.models import Organisation
from submissions.choices import CutOffKind, ExtractState
from submissions.cycle import national as month_reads
from submissions.cycle.extract_services import extract_create, extract_download_record
from submissions.cycle.selectors import month_of
from submissions.cycle.services import (
    period_cut_off,
    period_reopen,
    period_reopening_end,
    period_update,
)
from submissions.cycle.timetable import default_deadlines
from submissions.forms import DeadlineForm, EndReopeningForm, ExtractForm, ReopeningForm
from submissions.models import CutOff, Extract, PeriodReopening, ReportingPeriod
from submissions.views.months import recent_months
from submissions.views.national import NATIONAL_BREADCRUMBS, NationalPageMixin

EXTRACT_REFRESH_SECONDS = 3
REOPENING_MONTHS = 13
PAST_REOPENINGS = 50


def _month(value: str) -> date:
    """A month from a URL, or 404 (a malformed month is no page)."""
    try:
        return month_of(value)
    except (DomainError, ValueError) as exc:
        raise Http404("No such month.") from exc


def _kind(value: str) -> str:
    if value not in CutOffKind.values:
        raise Http404("No such cut-off.")
    return value


class NationalFormPage(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """A national page with a form that posts back to it and redirects on success."""

    def render_with(self, **context: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(**context))


# The timetable --------------------------------------------------------------------------------

class TimetableView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Every month with its deadlines and state, newest first."""

    template_name = "submissions/national/timetable.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["months"] = month_reads.timetable_months()
        return context


class DeadlineEditView(NationalFormPage):
    """Change one month's deadlines, with a reason; a deadline whose cut-off ran is fixed."""

    template_name = "submissions/national/deadline_edit.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_breadcrumbs(self) -> list[tuple[str, str]]:
        return [*super().get_breadcrumbs(), ("Timetable", reverse("national:timetable"))]

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.month = _month(kwargs["month"])

    def _current(self) -> tuple[datetime, datetime, tuple[str, ...]]:
        period = ReportingPeriod.objects.filter(activity_month=self.month).first()
        if period is None:
            d = default_deadlines(self.month)
            return d.provisional, d.final, ()
        taken = tuple(sorted(CutOff.objects.filter(period=period)
                             .values_list("kind", flat=True)))
        return period.provisional_deadline, period.final_deadline, taken

    def _form(self, data: Any = None) -> DeadlineForm:
        provisional, final, fixed = self._current()
        return DeadlineForm(data, fixed=fixed, initial={
            "provisional_deadline": timezone.localtime(provisional),
            "final_deadline": timezone.localtime(final)})

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        provisional, final, fixed = self._current()
        context.setdefault("form", self._form())
        context.update(month=self.month, provisional=provisional, final=final, fixed=fixed,
                       all_fixed=len(fixed) == len(CutOffKind.values))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self._form(request.POST)
        if not form.is_valid():
            return self.render_with(form=form)
        _provisional, _final, fixed = self._current()
        values = {f"{kind}_deadline": form.cleaned_data[f"{kind}_deadline"]
                  for kind in CutOffKind.values if kind not in fixed}
        try:
            period_update(actor=cast(User, request.user), month=self.month,
                          reason=form.cleaned_data["change_reason"], request=request, **values)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.render_with(form=form)
        messages.success(request, f"The deadlines of {self.month:%B %Y} were changed.")
        return redirect("national:timetable")


# Reopenings -----------------------------------------------------------------------------------

def _provider_choices() -> list[tuple[str, str]]:
    return [(o.code, f"{o.name} ({o.code})") for o in
            Organisation.objects.filter(type__in=PROVIDER_TYPES).order_by("name")]


class ReopeningsView(NationalFormPage):
    """Current and past reopenings, and a form to grant one."""

    template_name = "submissions/national/reopenings.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def _form(self, data: Any = None) -> ReopeningForm:
        return ReopeningForm(data, organisations=_provider_choices(),
                             months=recent_months(count=REOPENING_MONTHS))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        reopenings = list(PeriodReopening.objects.select_related(
            "period", "organisation", "granted_by", "ended_by").order_by("-granted_at")[:200])
        context.setdefault("form", self._form())
        context.update(
            current=[r for r in reopenings if r.is_current(now)],
            past=[r for r in reopenings if not r.is_current(now)][:PAST_REOPENINGS],
            end_form=EndReopeningForm(),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self._form(request.POST)
        if not form.is_valid():
            return self.render_with(form=form)
        try:
            reopening = period_reopen(
                actor=cast(User, request.user), month=form.cleaned_data["month"],
                organisation_code=form.cleaned_data["organisation"],
                reason=form.cleaned_data["reason"], expires_at=form.cleaned_data["expires_at"],
                request=request)
        except DomainError as exc:
            form.add_error("expires_at" if exc.code == "invalid_expiry" else None, exc.message)
            return self.render_with(form=form)
        messages.success(request, f"{reopening.organisation_id} can submit for "
                                  f"{reopening.period.activity_month:%B %Y} until "
                                  f"{timezone.localtime(reopening.expires_at):%-d %B %Y %H:%M}.")
        return redirect("national:reopenings")


class ReopeningEndView(NationalPageMixin, View):
    """End a current reopening now (POST only)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = EndReopeningForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Enter why the reopening ends early.")
            return redirect("national:reopenings")
        try:
            reopening = period_reopening_end(actor=cast(User, request.user), reopening_id=pk,
                                             reason=form.cleaned_data["reason"], request=request)
        except DomainError as exc:
            if exc.status_code == 404:
                raise Http404(exc.message) from exc
            messages.error(request, exc.message)
            return redirect("national:reopenings")
        messages.success(request, f"The reopening of {reopening.period.activity_month:%B %Y} "
                                  f"for {reopening.organisation_id} has ended.")
        return redirect("national:reopenings")


# Cut-offs -------------------------------------------------------------------------------------

class CutOffListView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Every cut-off that has run, those overdue, and the next ones due."""

    template_name = "submissions/national/cutoffs.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["schedule"] = month_reads.cutoff_schedule()
        return context


class CutOffDetailView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """One cut-off: its manifest as a table, its checksum, who ran it, what changed since the
    provisional one; or, before it has run, its deadline and whether it can run now."""

    template_name = "submissions/national/cutoff_detail.html"

    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_breadcrumbs(self) -> list[tuple[str, str]]:
        return [*super().get_breadcrumbs(), ("Cut-offs", reverse("national:cutoffs"))]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        month, kind = _month(kwargs["month"]), _kind(kwargs["kind"])
        cutoff = (CutOff.objects.select_related("period", "run_by")
                  .filter(period__activity_month=month, kind=kind).first())
        context.update(month=month, kind=kind, kind_label=CutOffKind(kind).label,
                       cutoff=cutoff, month_slug=f"{month:%Y-%m}")
        if cutoff is None:
            period = ReportingPeriod.objects.filter(activity_month=month).first()
            deadline = (period.deadline(kind) if period
                        else getattr(default_deadlines(month), kind))
            context.update(deadline=deadline, readiness=month_reads.cutoff_readiness(
                month=month, kind=kind, deadline=deadline))
            return context
        context.update(deadline=cutoff.deadline, rows=month_reads.manifest_rows(cutoff),
                       extracts=list(cutoff.extracts.select_related("requested_by")[:20]),
                       in_scope=len(cutoff.manifest.get("organisations_in_scope", [])))
        if kind == CutOffKind.FINAL:
            provisional = CutOff.objects.filter(period=cutoff.period,
                                                kind=CutOffKind.PROVISIONAL).first()
            context["provisional"] = provisional
            if provisional is not None:
                context["changes"] = month_reads.cutoff_changes(provisional=provisional,
                                                                final=cutoff)
        return context


class CutOffRunView(NationalPageMixin, View):
    """Run a due cut-off by hand (POST only); the service refuses one not yet due."""

    def post(self, request: HttpRequest, month: str, kind: str) -> HttpResponse:
        month_date, kind = _month(month), _kind(kind)
        detail = reverse("national:cutoff", args=[f"{month_date:%Y-%m}", kind])
        user = cast(User, request.user)
        try:
            cutoff, created = period_cut_off(actor=user, month=month_date, kind=kind,
                                             run_by_label=f"Portal ({user.email})",
                                             request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(detail)
        if created:
            messages.success(request, f"The {cutoff.get_kind_display().lower()} cut-off of "
                                      f"{month_date:%B %Y} took {cutoff.record_count:,} records.")
        return redirect(detail)


# Extracts -------------------------------------------------------------------------------------

def _cutoff_choices() -> list[tuple[str, str]]:
    return [(f"{c.period.activity_month:%Y-%m}/{c.kind}",
             f"{c.period.activity_month:%B %Y}, {c.get_kind_display().lower()} "
             f"({c.record_count:,} records)")
            for c in CutOff.objects.select_related("period").order_by(
                "-period__activity_month", "-deadline")]


class ExtractsView(NationalFormPage):
    """Extracts made, with their progress, and a form to make one."""

    template_name = "submissions/national/extracts.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def _form(self, data: Any = None) -> ExtractForm:
        return ExtractForm(data, cutoffs=_cutoff_choices(),
                           initial={"cutoff": self.request.GET.get("cutoff", "")})

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        extracts = list(Extract.objects.select_related("cutoff__period", "requested_by")[:100])
        working = any(e.state in (ExtractState.QUEUED, ExtractState.WRITING) for e in extracts)
        context.setdefault("form", self._form())
        context.update(extracts=extracts, enabled=bool(settings.DIDS_PSEUDONYM_KEY),
                       refresh_seconds=EXTRACT_REFRESH_SECONDS if working else None,
                       done=ExtractState.DONE)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self._form(request.POST)
        if not form.is_valid():
            return self.render_with(form=form)
        month, kind = form.cleaned_data["cutoff"].split("/")
        try:
            extract = extract_create(actor=cast(User, request.user), month=month, kind=kind,
                                     format=form.cleaned_data["format"], request=request)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.render_with(form=form)
        messages.success(request, f"Extract {extract.pk} is being made: this page shows its "
                                  "progress.")
        return redirect("national:extracts")


class ExtractDownloadView(NationalPageMixin, View):
    """Download a finished extract (audited, like the API's download)."""

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        extract = Extract.objects.select_related("cutoff__period").filter(pk=pk).first()
        if extract is None or extract.state != ExtractState.DONE or not extract.file:
            raise Http404("No finished extract with that number.")
        name = extract_download_record(actor=request.user, extract=extract, request=request)
        response = FileResponse(extract.file.open("rb"), as_attachment=True, filename=name)
        response["Cache-Control"] = "no-store, private"
        return response


__all__ = ["CutOffDetailView", "CutOffListView", "CutOffRunView", "DeadlineEditView",
           "ExtractDownloadView", "ExtractsView", "ReopeningEndView", "ReopeningsView",
           "TimetableView"]
