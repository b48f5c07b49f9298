"""The reference admin, driven with the Django test client: change reasons, import, permissions."""

import tempfile

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from reference.models import NicipCode, ReferenceRelease, Site

SITES_CSV = (
    "code,name,organisation,opened,closed\n"
    "RR8A1,Leeds Imaging Centre,RR8,2024-04-01,\n"
    "RR8A2,Leeds Community Diagnostic Centre,RR8,2025-04-01,\n"
)
CSV_FORMAT, XLSX_FORMAT = "0", "1"


@pytest.fixture
def admin_client(client, reference_admin):
    client.force_login(reference_admin)
    return client


def site_form(site: Site, **changes: str) -> dict[str, str]:
    data = {
        "code": site.code, "name": site.name, "organisation": site.organisation_id,
        "opened": site.opened.isoformat() if site.opened else "",
        "closed": site.closed.isoformat() if site.closed else "",
    }
    return {**data, **changes}


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def preview(client, model: str, file: SimpleUploadedFile, fmt: str = CSV_FORMAT):
    return client.post(f"/admin/reference/{model}/import/", {"import_file": file, "format": fmt})


def confirm(client, model: str, response):
    return client.post(f"/admin/reference/{model}/process_import/",
                       response.context["confirm_form"].initial)


# The change form


def test_change_form_without_a_change_reason_is_refused_and_changes_nothing(admin_client):
    site = Site.objects.get(code="RR813")

    response = admin_client.post("/admin/reference/site/RR813/change/",
                                 site_form(site, name="Leeds General"))

    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    site.refresh_from_db()
    assert site.name == "Leeds General Infirmary"


def test_change_form_records_the_user_and_reason_in_history(admin_client, reference_admin):
    site = Site.objects.get(code="RR813")

    response = admin_client.post(
        "/admin/reference/site/RR813/change/",
        site_form(site, name="Leeds General", change_reason="Renamed by the trust"),
    )

    assert response.status_code == 302
    latest = site.history.first()
    assert latest.name == "Leeds General"
    assert latest.history_user == reference_admin
    assert latest.history_change_reason == "Renamed by the trust"


def test_add_form_records_the_user_and_reason_in_history(admin_client, reference_admin):
    response = admin_client.post("/admin/reference/site/add/", {
        "code": "RR8A1", "name": "Leeds Imaging Centre", "organisation": "RR8",
        "opened": "2024-04-01", "closed": "", "change_reason": "New community diagnostic centre",
    })

    assert response.status_code == 302
    record = Site.objects.get(code="RR8A1").history.get()
    assert (record.history_user, record.history_change_reason) == (
        reference_admin, "New community diagnostic centre"
    )


def test_change_form_cannot_change_the_key_of_a_row(admin_client):
    site = Site.objects.get(code="RR813")
    before = Site.objects.count()

    response = admin_client.post("/admin/reference/site/RR813/change/",
                                 site_form(site, code="ZZZ99", change_reason="Rename"))

    assert response.status_code == 302
    assert Site.objects.count() == before
    assert not Site.objects.filter(code="ZZZ99").exists()


def test_change_form_refuses_a_closing_date_before_the_opening_date(admin_client):
    site = Site.objects.get(code="RR813")

    response = admin_client.post(
        "/admin/reference/site/RR813/change/",
        site_form(site, closed="1990-01-01", change_reason="Closed"),
    )

    assert response.status_code == 200
    site.refresh_from_db()
    assert site.closed is None


def test_history_page_shows_the_change_reason(admin_client):
    site = Site.objects.get(code="RR813")
    admin_client.post("/admin/reference/site/RR813/change/",
                      site_form(site, name="Leeds General", change_reason="Renamed by the trust"))

    response = admin_client.get("/admin/reference/site/RR813/history/")

    assert "Renamed by the trust" in response.content.decode()


# Permissions


def test_reference_rows_cannot_be_deleted_even_by_a_reference_admin(admin_client):
    response = admin_client.post("/admin/reference/site/RR813/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Site.objects.filter(code="RR813").exists()


def test_national_analyst_may_look_but_not_change(client, analyst):
    client.force_login(analyst)

    assert client.get("/admin/reference/site/").status_code == 200
    assert client.get("/admin/reference/site/add/").status_code == 403
    assert client.get("/admin/reference/site/import/").status_code == 403


def test_provider_user_cannot_open_the_reference_admin(client, submitter):
    client.force_login(submitter)

    response = client.get("/admin/reference/site/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_reference_releases_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get("/admin/reference/referencerelease/add/").status_code == 403


def test_reference_releases_cannot_be_changed_in_the_admin(admin_client):
    release = ReferenceRelease.objects.get()

    admin_client.post(f"/admin/reference/referencerelease/{release.pk}/change/",
                      {"label": "Renamed"})

    release.refresh_from_db()
    assert release.label != "Renamed"


# Import: form, dry-run preview, confirm


def test_import_preview_is_a_dry_run_that_saves_nothing(admin_client):
    response = preview(admin_client, "site", upload("sites.csv", SITES_CSV.encode()))

    assert response.status_code == 200
    assert response.context["confirm_form"] is not None
    assert response.context["result"].totals["new"] == 2
    assert not Site.objects.filter(code__in=["RR8A1", "RR8A2"]).exists()


def test_confirmed_import_saves_the_rows_with_the_organisation_found_by_code(admin_client):
    response = preview(admin_client, "site", upload("sites.csv", SITES_CSV.encode()))

    confirmed = confirm(admin_client, "site", response)

    assert confirmed.status_code == 302
    assert set(Site.objects.filter(code__startswith="RR8A").values_list("organisation", flat=True)) == {"RR8"}


def test_imported_rows_carry_the_importing_user_and_a_reason_naming_the_file(
    admin_client, reference_admin
):
    response = preview(admin_client, "site", upload("new-cdc-sites.csv", SITES_CSV.encode()))
    confirm(admin_client, "site", response)

    records = Site.history.filter(code__startswith="RR8A")
    assert records.count() == 2
    assert {r.history_user for r in records} == {reference_admin}
    assert {r.history_change_reason for r in records} == {"Imported from new-cdc-sites.csv"}


def test_xlsx_file_imports_through_the_admin(admin_client, reference_admin):
    workbook = tablib.import_set(SITES_CSV, format="csv").export("xlsx")
    response = preview(admin_client, "site", upload("sites.xlsx", workbook), fmt=XLSX_FORMAT)

    confirm(admin_client, "site", response)

    records = Site.history.filter(code__startswith="RR8A")
    assert {r.history_change_reason for r in records} == {"Imported from sites.xlsx"}


def test_nicip_import_finds_the_snomed_concept_by_its_snomed_code(admin_client):
    text = "code,description,modality,snomed_code,valid_from,valid_to\nXZZZZ,XR Test,XRAY,399208008,,\n"
    response = preview(admin_client, "nicipcode", upload("nicip.csv", text.encode()))

    confirm(admin_client, "nicipcode", response)

    assert NicipCode.objects.get(code="XZZZZ").snomed_id == "399208008"


def test_import_preview_with_one_bad_row_offers_no_confirmation_and_names_the_row(admin_client):
    text = SITES_CSV + "rr8a3,Bad Code Centre,RR8,2025-04-01,\n"

    response = preview(admin_client, "site", upload("sites.csv", text.encode()))

    result = response.context["result"]
    assert response.context.get("confirm_form") is None
    assert [row.number for row in result.invalid_rows] == [3]
    assert "Site codes are 5 to 12 upper-case letters and digits." in response.content.decode()
    assert not Site.objects.filter(code__startswith="RR8A").exists()


def test_confirming_a_file_with_one_bad_row_imports_nothing(admin_client):
    text = SITES_CSV + "rr8a3,Bad Code Centre,RR8,2025-04-01,\n"
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as handle:
        handle.write(text)

    admin_client.post("/admin/reference/site/process_import/", {
        "import_file_name": handle.name, "original_file_name": "sites.csv",
        "format": CSV_FORMAT, "resource": "",
    })

    assert not Site.objects.filter(code__startswith="RR8A").exists()
    assert not Site.history.filter(code__startswith="RR8A").exists()


def test_import_of_a_site_of_an_unknown_organisation_offers_no_confirmation(admin_client):
    text = SITES_CSV + "RYY01,Orphan Hospital,RYY,2025-04-01,\n"

    response = preview(admin_client, "site", upload("sites.csv", text.encode()))

    assert response.context.get("confirm_form") is None
    assert response.context["result"].has_validation_errors()


def test_export_writes_the_organisation_code(admin_client):
    fields = {f"siteresource_{name}": "on" for name in ("code", "name", "organisation", "opened",
                                                         "closed")}
    response = admin_client.post("/admin/reference/site/export/",
                                 {"format": CSV_FORMAT, "resource": "", **fields})

    assert response.status_code == 200
    assert "RR801,St James's University Hospital,RR8," in response.content.decode()


def test_release_list_shows_the_loaded_sample_to_a_reference_admin(admin_client):
    release = ReferenceRelease.objects.get()

    response = admin_client.get("/admin/reference/referencerelease/")

    assert release.label in response.content.decode()
