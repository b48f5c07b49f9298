"""Pages of the submissions app: the provider's months, upload and results, version history,
the national pages, and the public rules page."""

from submissions.views.findings import SubmissionFindingsView
from submissions.views.national import (
    AuditView,
    ComplianceView,
    NationalHomeView,
    QualityView,
    StatisticsView,
)
from submissions.views.provider import (
    AnnotatedCsvView,
    FindingsCsvView,
    MonthHistoryView,
    ProviderHomeView,
    ReprocessView,
    SubmissionDetailView,
    SubmissionListView,
    UploadView,
    VersionDiffView,
)
from submissions.views.rules import RulesView

__all__ = [
    "AnnotatedCsvView",
    "AuditView",
    "ComplianceView",
    "FindingsCsvView",
    "MonthHistoryView",
    "NationalHomeView",
    "ProviderHomeView",
    "QualityView",
    "ReprocessView",
    "RulesView",
    "StatisticsView",
    "SubmissionDetailView",
    "SubmissionFindingsView",
    "SubmissionListView",
    "UploadView",
    "VersionDiffView",
]
