from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView

from dids_portal.lib import health
from dids_portal.lib.api_docs import ApiDocsView

# The admin site requires a verified second factor (django-otp), on top of is_staff. Its
# ModelAdmins load here, not at start-up (dids_portal/apps.py).
admin.site.__class__ = OTPAdminSite
admin.autodiscover()
admin.site.site_header = "DIDS Portal administration"
admin.site.site_title = "DIDS Portal admin"
admin.site.index_title = "Reference data, accounts and submissions"

handler400 = "dids_portal.lib.pages.bad_request"
handler404 = "dids_portal.lib.pages.not_found"
handler500 = "dids_portal.lib.pages.server_error"

urlpatterns = [
    # Probes: answered first by dids_portal.lib.health.ProbeMiddleware; routed here too.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("reference.api.urls")),
    path("api/", include("submissions.api.urls")),
    path("api/", include("accounts.api.urls")),
    # The submissions and national pages come before the accounts ones: /provider/ and
    # /national/ are served by their fuller versions in submissions (accounts may not import it).
    path("", include("submissions.urls")),
    path("national/", include("submissions.national_urls")),
    path("", include("accounts.urls")),
]
