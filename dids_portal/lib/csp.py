"""The Content-Security-Policy: one policy for every page, and the API docs under it.

The policy (``DIDS_CONTENT_SECURITY_POLICY`` in settings) allows the site's own files only: no
inline script or style, no other origin. The API docs (Swagger UI) load their script and style
sheet from ``SPECTACULAR_SETTINGS["SWAGGER_UI_DIST"]``: the portal's own static files (the
drf-spectacular-sidecar package); were it set to a CDN, their page alone would add its origin
(``dids_portal.lib.api_docs``, apart so that the middleware does not load drf-spectacular).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

HEADER = "Content-Security-Policy"


def policy(extra: dict[str, list[str]] | None = None) -> str:
    """The header's value: the settings' policy with ``extra`` sources added per directive."""
    directives = {name: list(sources)
                  for name, sources in settings.DIDS_CONTENT_SECURITY_POLICY.items()}
    for name, sources in (extra or {}).items():
        directives.setdefault(name, []).extend(s for s in sources if s not in directives[name])
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
