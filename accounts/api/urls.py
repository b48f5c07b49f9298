from rest_framework.routers import DefaultRouter

from accounts.api import views

router = DefaultRouter()
router.include_format_suffixes = False
router.trailing_slash = "/?"
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
