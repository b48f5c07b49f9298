"""The national pages, in the ``national`` URL namespace under /national/."""

from django.urls import path

from submissions import views
from submissions.views import national_csv

app_name = "national"

urlpatterns = [
    # The same URL as accounts:national-home, which this overview replaces.
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
]
