"""Shared helpers for the portal's HTML pages: NHS design system styling of Django forms.

Templates render a form with ``{% include "includes/form_fields.html" %}`` and its errors with
``{% include "includes/error_summary.html" %}``; a form that mixes in ``NhsFormMixin`` gives
its widgets the NHS classes and the ARIA links to their hint and error message.

The site's error handlers are here too: under /api/ they answer in the API's JSON error shape
(an address no route matches is a JSON 404, not the 404 page); elsewhere the 400 page has the
portal's layout, and the 404 and 500 pages are Django's views of 404.html and 500.html.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.widgets import Input
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import defaults

_WIDGET_CLASSES: tuple[tuple[type[forms.Widget], str], ...] = (
    (forms.RadioSelect, "nhsuk-radios__input"),
    (forms.CheckboxSelectMultiple, "nhsuk-checkboxes__input"),
    (forms.CheckboxInput, "nhsuk-checkboxes__input"),
    (forms.Select, "nhsuk-select"),
    (forms.Textarea, "nhsuk-textarea"),
    (forms.ClearableFileInput, "nhsuk-file-upload__input"),
    (forms.FileInput, "nhsuk-file-upload__input"),
    (Input, "nhsuk-input"),
)


def widget_class(widget: forms.Widget) -> str:
    """The NHS design system class of a widget's input element."""
    for widget_type, css_class in _WIDGET_CLASSES:
        if isinstance(widget, widget_type):
            return css_class
    return ""


class NhsFormMixin:
    """Style a Django form as the NHS design system does.

    Inputs get their ``nhsuk-*`` class, the error modifier when invalid, and an
    ``aria-describedby`` naming the hint (``<id>-hint``) and the error message (``<id>-error``)
    that ``includes/form_fields.html`` renders.
    """

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css_class = widget_class(field.widget)
            if css_class:
                existing = field.widget.attrs.get("class", "")
                field.widget.attrs["class"] = f"{existing} {css_class}".strip()
        self._describe_fields()

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self._describe_fields()

    def _field_id(self, name: str) -> str:
        # As BoundField.auto_id, without creating (and caching) the bound field yet.
        html_name = self.add_prefix(name)  # type: ignore[attr-defined]
        auto_id = self.auto_id  # type: ignore[attr-defined]
        if auto_id and "%s" in str(auto_id):
            return str(auto_id) % html_name
        return html_name if auto_id else ""

    def _describe_fields(self) -> None:
        errors = getattr(self, "_errors", None) or {}
        for name, field in self.fields.items():
            field_id = self._field_id(name)
            attrs = field.widget.attrs
            described_by = []
            if field.help_text:
                described_by.append(f"{field_id}-hint")
            has_error = name in errors
            if has_error:
                described_by.append(f"{field_id}-error")
            if described_by and not isinstance(field.widget, forms.RadioSelect):
                attrs["aria-describedby"] = " ".join(described_by)
            else:
                attrs.pop("aria-describedby", None)
            css_class = widget_class(field.widget)
            classes = [c for c in attrs.get("class", "").split() if not c.endswith("--error")]
            if has_error and css_class in {
                "nhsuk-input",
                "nhsuk-select",
                "nhsuk-textarea",
            }:
                classes.append(f"{css_class}--error")
            if classes:
                attrs["class"] = " ".join(classes)


class BreadcrumbsMixin:
    """Give a page's template the breadcrumbs that ``base.html`` shows above the content.

    ``breadcrumbs`` lists the pages above this one as (text, URL name) pairs, nearest last;
    a view whose parents take URL arguments overrides ``get_breadcrumbs()`` and returns
    (text, href) pairs.
    """

    breadcrumbs: tuple[tuple[str, str], ...] = ()

    def get_breadcrumbs(self) -> list[tuple[str, str]]:
        return [(text, reverse(url_name)) for text, url_name in self.breadcrumbs]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["breadcrumbs"] = [
            {"text": text, "href": href} for text, href in self.get_breadcrumbs()
        ]
        return context


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _api_error(status: int, code: str, message: str) -> HttpResponse:
    from dids_portal.lib.errors import error_body

    return JsonResponse(error_body(code, message), status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None, *,
                message: str = "", status: int = 400) -> HttpResponse:
    """The 400 page, with the portal's layout (Django's own renders it without a request).

    ``message`` says what was wrong, with any NHS number in it redacted."""
    from dids_portal.lib.logging import redact

    if _is_api(request):
        return _api_error(status, "bad_request", redact(message) or "The request is not valid.")
    return render(request, "400.html", {"message": redact(message)}, status=status)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _api_error(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)  # type: ignore[arg-type]


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _api_error(500, "server_error", "Sorry, there is a problem with the service.")
    return defaults.server_error(request)
