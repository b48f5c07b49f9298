from django.urls import path
from rest_framework.routers import DefaultRouter

from submissions.api import cycle, views

# No format suffixes (".csv" is part of two download paths) and an optional trailing slash.
router = DefaultRouter()
router.include_format_suffixes = False
router.trailing_slash = "/?"
router.register("submissions", views.SubmissionViewSet, basename="submission")

# The router's routes first: the status endpoints a RIS polls are resolved without trying the
# twenty others (no path below overlaps them; /api/'s root view is reference.api's, before).
urlpatterns = [
    *router.urls,
    path("checks/", views.CheckView.as_view(), name="api-checks"),
    path("reference-snapshot/", views.ReferenceSnapshotView.as_view(),
         name="api-reference-snapshot"),
    # The monthly cycle
    path("periods/", cycle.PeriodListView.as_view(), name="api-periods"),
    path("periods/<str:month>/", cycle.PeriodDetailView.as_view(), name="api-period"),
    path("periods/<str:month>/reopenings/", cycle.ReopeningView.as_view(),
         name="api-period-reopenings"),
    path("cutoffs/", cycle.CutOffListView.as_view(), name="api-cutoffs"),
    path("cutoffs/<str:month>/<str:kind>/", cycle.CutOffDetailView.as_view(), name="api-cutoff"),
    path("cutoffs/<str:month>/<str:kind>/statistics/", cycle.StatisticsView.as_view(),
         name="api-cutoff-statistics"),
    path("cutoffs/<str:month>/<str:kind>/statistics.csv", cycle.StatisticsCsvView.as_view(),
         name="api-cutoff-statistics-csv"),
    path("cutoffs/<str:month>/<str:kind>/extracts/", cycle.ExtractCreateView.as_view(),
         name="api-cutoff-extracts"),
    path("extracts/<int:pk>/", cycle.ExtractDetailView.as_view(), name="api-extract"),
    path("extracts/<int:pk>/download/", cycle.ExtractDownloadView.as_view(),
         name="api-extract-download"),
    path("compliance/", cycle.ComplianceView.as_view(), name="api-compliance"),
    path("compliance.csv", cycle.ComplianceCsvView.as_view(), name="api-compliance-csv"),
    path("compliance/owing/", cycle.OwingView.as_view(), name="api-compliance-owing"),
    path("compliance/owing.csv", cycle.OwingCsvView.as_view(), name="api-compliance-owing-csv"),
    path("months/", cycle.ProviderMonthsView.as_view(), name="api-months"),
    path("submissions/<int:pk>/diff/", cycle.VersionDiffView.as_view(), name="api-version-diff"),
]
