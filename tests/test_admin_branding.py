"""The Django admin that reference admins and staff use: branded, and every editable reference
model with history (who, when, why) and import/export."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.test import Client
from import_export.admin import ImportExportMixin
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import User

pytestmark = pytest.mark.django_db

READ_ONLY = {"ReferenceRelease"}  # written by load_reference only; never edited


def test_admin_pages_carry_the_portal_branding(client: Client, reference_admin: User) -> None:
    client.force_login(reference_admin)
    html = client.get("/admin/").content.decode()
    assert "DIDS Portal administration" in html
    assert 'class="dids-admin-logo"' in html
    # The colours come from a style sheet, not an inline <style> (the CSP allows none).
    assert "<style" not in html
    assert "css/admin.css" in html
    assert "--header-bg: #005eb8" in Path(finders.find("css/admin.css")).read_text()


@pytest.mark.parametrize("model", [m for m in apps.get_app_config("reference").get_models()
                                   if m.__name__ not in READ_ONLY and not m.__name__.startswith("Historical")],
                         ids=lambda m: m.__name__)
def test_every_reference_model_has_history_and_import_export(model) -> None:
    admin.autodiscover()  # as the URLconf does (dids_portal/apps.py)
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, SimpleHistoryAdmin)
    assert isinstance(model_admin, ImportExportMixin)
    assert hasattr(model, "history")
