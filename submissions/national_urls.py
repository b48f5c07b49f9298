"""The national pages, in the ``national`` URL namespace under /national/."""

from django.urls import path

from submissions import views
from submissions.views import national_csv
from submissions.views import national_month as month

app_name = "national"

urlpatterns = [
    path("", views.NationalHomeView.as_view(), name="home"),
    path("compliance/", views.ComplianceView.as_view(), name="compliance"),
    path("quality/", views.QualityView.as_view(), name="quality"),
    path("statistics/", views.StatisticsView.as_view(), name="statistics"),
    path("audit/", views.AuditView.as_view(), name="audit"),
    # CSV downloads of the pages above, with the same filters.
    path("compliance.csv", national_csv.ComplianceCsvView.as_view(), name="compliance-csv"),
    path("compliance/owing.csv", national_csv.ChaseCsvView.as_view(), name="owing-csv"),
    path("statistics/activity.csv", national_csv.ActivityCsvView.as_view(),
         name="activity-csv"),
    path("statistics/waits.csv", national_csv.WaitsCsvView.as_view(), name="waits-csv"),
    path("audit.csv", national_csv.AuditCsvView.as_view(), name="audit-csv"),
    # The national month: timetable, reopenings, cut-offs and extracts.
    path("timetable/", month.TimetableView.as_view(), name="timetable"),
    path("timetable/<str:month>/", month.DeadlineEditView.as_view(), name="deadline-edit"),
    path("reopenings/", month.ReopeningsView.as_view(), name="reopenings"),
    path("reopenings/<int:pk>/end/", month.ReopeningEndView.as_view(), name="reopening-end"),
    path("cutoffs/", month.CutOffListView.as_view(), name="cutoffs"),
    path("cutoffs/<str:month>/<str:kind>/", month.CutOffDetailView.as_view(), name="cutoff"),
    path("cutoffs/<str:month>/<str:kind>/run/", month.CutOffRunView.as_view(), name="cutoff-run"),
    path("extracts/", month.ExtractsView.as_view(), name="extracts"),
    path("extracts/<int:pk>/download/", month.ExtractDownloadView.as_view(),
         name="extract-download"),
]
