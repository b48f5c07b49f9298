"""The findings of one version, paged and filterable by rule, outcome and data item.

The same people see it as the version's result page (``submission_get_for``: the version's
own organisation, and national analysts; anyone else gets a 404). Its counts come from one
GROUP BY query and its rows from one LIMIT/OFFSET query, however many findings there are.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from django.utils.text import Truncator
from django.views.generic import TemplateView

from accounts.views import SignedInMixin
from dids_portal.lib.pager import page_links, paginate
from submissions import selectors
from submissions.choices import SubmissionStatus
from submissions.forms import FindingFilterForm
from submissions.views.provider import rule_rows, submission_breadcrumbs

PAGE_SIZE = 50
TITLE_CHARS = 90


def rule_title(explanation: str) -> str:
    """A rule's short title: the first sentence (or clause) of its explanation, shortened if long."""
    first = explanation.split(". ", 1)[0].split("; ", 1)[0].rstrip(".")
    return Truncator(first).chars(TITLE_CHARS)


class SubmissionFindingsView(SignedInMixin, TemplateView):
    """Every finding of a version, 50 a page, with the counts by rule that filter the list."""

    template_name = "submissions/submission_findings.html"
    page_size = PAGE_SIZE

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        submission = selectors.submission_get_for(user=self.request.user, pk=self.kwargs["pk"])
        if not submission.is_finished or submission.status == SubmissionStatus.FAILED:
            raise Http404("The version has no findings yet.")
        counts = selectors.finding_counts(submission=submission)
        by_rule = counts.by_rule()
        form = FindingFilterForm(self.request.GET, rules=sorted(by_rule), items=counts.items())
        filters = form.filters()
        rules = rule_rows(by_rule)
        for rule in rules:
            rule["title"] = rule_title(rule["explanation"])
            rule["selected"] = rule["id"] == filters["rule"]
        page = paginate(
            selectors.finding_list(submission=submission, **filters),
            count=counts.total(**filters),
            per_page=self.page_size,
            number=self.request.GET.get("page"),
        )
        detail_url = reverse("submissions:detail", args=[submission.pk])
        breadcrumbs = [
            *submission_breadcrumbs(self.request, submission),
            {"text": f"Version {submission.version}", "href": detail_url},
        ]
        context.update(
            submission=submission,
            form=form,
            filters=filters,
            filtered=any(filters.values()),
            rules=rules,
            total=counts.total(),
            page=page,
            findings=page.object_list,
            pagination=page_links(page, filters),
            detail_url=detail_url,
            breadcrumbs=breadcrumbs,
        )
        return context
