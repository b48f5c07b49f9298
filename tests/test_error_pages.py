"""The real error pages (DEBUG off) are the portal's, in the NHS design system, for every status
a visitor can meet: 400, 403, 404 and 500."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path

from dids_portal import urls as portal_urls

pytestmark = pytest.mark.django_db


def _denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def _suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("a test")


def _broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [
    path("denied/", _denied),
    path("suspicious/", _suspicious),
    path("broken/", _broken),
    *portal_urls.urlpatterns,
]
# The portal's handlers, as its own URLconf declares them.
handler400 = "dids_portal.lib.pages.bad_request"
handler404 = "dids_portal.lib.pages.not_found"
handler500 = "dids_portal.lib.pages.server_error"


@pytest.mark.parametrize("url, status, heading", [
    ("/no-such-page/", 404, "Page not found"),
    ("/denied/", 403, "You cannot do this"),
    ("/suspicious/", 400, None),
    ("/broken/", 500, "Sorry, there is a problem with the service"),
])
def test_each_real_error_page_is_nhs_styled(url, status, heading):
    with override_settings(DEBUG=False, ROOT_URLCONF=__name__):
        response = Client(raise_request_exception=False).get(url)
    html = response.content.decode()
    assert response.status_code == status
    assert 'class="nhsuk-header' in html and "nhsuk-frontend.min.css" in html
    assert "DIDS Portal" in html
    assert "<h1 class=\"nhsuk-heading-l\">" in html
    if heading:
        assert heading in html
    assert "Traceback" not in html and "a bug" not in html
