"""The national pages, in the ``national`` URL namespace under /national/."""

from django.urls import path

from submissions import views

app_name = "national"

urlpatterns = [
    # The same URL as accounts:national-home, which this overview replaces.
    path("", views.NationalHomeView.as_view(), name="home"),
    path("compliance/", views.ComplianceView.as_view(), name="compliance"),
    path("quality/", views.QualityView.as_view(), name="quality"),
    path("statistics/", views.StatisticsView.as_view(), name="statistics"),
    path("audit/", views.AuditView.as_view(), name="audit"),
]
