from django.urls import path
from rest_framework.routers import DefaultRouter

from submissions.api import views

# No format suffixes (".csv" is part of two download paths) and an optional trailing slash.
router = DefaultRouter()
router.include_format_suffixes = False
router.trailing_slash = "/?"
router.register("submissions", views.SubmissionViewSet, basename="submission")

urlpatterns = [
    path("checks/", views.CheckView.as_view(), name="api-checks"),
    *router.urls,
]
