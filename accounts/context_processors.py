"""What every page's layout needs: the style sheet, the navigation of the user's roles, and the
active organisation shown in the header."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from accounts.choices import Role
from accounts.selectors import is_national, is_reference_admin, provider_organisation_codes
from accounts.views import session_organisation

NHSUK_STYLESHEET = "vendor/nhsuk/nhsuk-frontend.min.css"
NHSUK_SCRIPT = "vendor/nhsuk/nhsuk-frontend.min.js"
FALLBACK_STYLESHEET = "css/fallback.css"

# The navigation of each role: (text, URL name, where it points until that page exists).
# Pages of later issues register the URL names below; until then the link falls back.
PROVIDER_NAVIGATION = (
    ("Home", "accounts:provider-home", None),
    ("Submissions", "submissions:list", "accounts:provider-home"),
)
# Only a submitter can make a token (a token sends files), so only a submitter is shown them.
SUBMITTER_NAVIGATION = (("API tokens", "accounts:token-list", None),)
NATIONAL_NAVIGATION = (
    ("Compliance", "national:compliance", "national:home"),
    ("Data quality", "national:quality", "national:home"),
    ("Statistics", "national:statistics", "national:home"),
    ("Timetable", "national:timetable", "national:home"),
    ("Reopenings", "national:reopenings", "national:home"),
    ("Cut-offs", "national:cutoffs", "national:home"),
    ("Extracts", "national:extracts", "national:home"),
    ("Audit", "national:audit", "national:home"),
)
REFERENCE_ADMIN_NAVIGATION = (("Admin", "admin:index", None),)


@lru_cache(maxsize=1)
def _design_system_built() -> bool:
    """Whether `npm run build` has put the NHS design system into static/vendor/."""
    return finders.find(NHSUK_STYLESHEET) is not None


def _href(url_name: str, fallback: str | None, fragment: str) -> str | None:
    try:
        return reverse(url_name)
    except NoReverseMatch:
        if fallback is None:
            return None
        return f"{reverse(fallback)}#{fragment}"


def navigation_for(request: HttpRequest) -> list[dict[str, Any]]:
    """The header links of the signed-in user's roles, the current one marked."""
    user = request.user
    entries: list[tuple[str, str, str | None]] = []
    if provider_organisation_codes(user):
        entries.extend(PROVIDER_NAVIGATION)
        if provider_organisation_codes(user, roles=(Role.PROVIDER_SUBMITTER,)):
            entries.extend(SUBMITTER_NAVIGATION)
    if is_national(user):
        entries.extend(NATIONAL_NAVIGATION)
    if is_reference_admin(user) and user.is_staff:
        entries.extend(REFERENCE_ADMIN_NAVIGATION)

    items: list[dict[str, Any]] = []
    for text, url_name, fallback in entries:
        href = _href(url_name, fallback, text.lower().replace(" ", "-"))
        if href is not None:
            items.append({"text": text, "href": href})
    # The current item is the one whose page is the longest prefix of this path: a page under a
    # section marks its section ("true"), the section's own page is the page ("page").
    current = None
    candidates = [i for i in items if "#" not in i["href"] and request.path.startswith(i["href"])]
    if candidates:
        current = max(candidates, key=lambda i: len(i["href"]))
    for item in items:
        item["current"] = None
        if item is current:
            item["current"] = "page" if request.path == item["href"] else "true"
    return items


def portal(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "portal_service_name": "DIDS Portal",
        "portal_design_system": _design_system_built(),
        "portal_stylesheet": NHSUK_STYLESHEET if _design_system_built() else FALLBACK_STYLESHEET,
        "portal_script": NHSUK_SCRIPT if _design_system_built() else None,
        "portal_navigation": [],
        "portal_organisation": None,
        "portal_organisation_can_change": False,
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    context["portal_navigation"] = navigation_for(request)
    codes = provider_organisation_codes(user)
    if codes:
        context["portal_organisation"] = session_organisation(request)
        context["portal_organisation_can_change"] = len(codes) > 1
    return context
