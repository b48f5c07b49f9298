"""Import and export through the resources, as the admin drives them (see test_admin.py)."""

import pytest
import tablib
from import_export.formats.base_formats import CSV, XLSX

from reference.models import NicipCode, Organisation, Site
from reference.resources import NicipCodeResource, OrganisationResource, SiteResource
from tests.accounts.factories import UserFactory
from tests.reference.factories import OrganisationFactory, SiteFactory, SnomedConceptFactory

pytestmark = pytest.mark.django_db

SITES_CSV = (
    "code,name,organisation,opened,closed\n"
    "RZZ01,New Hospital,RZZ,2020-04-01,\n"
    "RZZ02,New Clinic,RZZ,2021-04-01,\n"
)


@pytest.fixture
def trust():
    return OrganisationFactory(code="RZZ")


def csv_dataset(text: str) -> tablib.Dataset:
    return CSV(encoding="utf-8").create_dataset(text)


def xlsx_dataset(text: str) -> tablib.Dataset:
    """The same table, written to an XLSX workbook and read back as the admin reads uploads."""
    workbook = csv_dataset(text).export("xlsx")
    return XLSX().create_dataset(workbook)


def import_sites(dataset: tablib.Dataset, *, dry_run: bool = False, user=None,
                 file_name: str = "sites.csv"):
    return SiteResource().import_data(
        dataset, dry_run=dry_run, raise_errors=False, rollback_on_validation_errors=True,
        user=user, file_name=file_name,
    )


def test_site_import_finds_the_organisation_by_its_ods_code(trust):
    result = import_sites(csv_dataset(SITES_CSV))

    assert not result.has_errors() and not result.has_validation_errors()
    assert Site.objects.get(code="RZZ01").organisation == trust


def test_xlsx_file_imports_like_csv(trust):
    result = import_sites(xlsx_dataset(SITES_CSV), file_name="sites.xlsx")

    assert not result.has_errors() and not result.has_validation_errors()
    assert set(trust.sites.values_list("code", flat=True)) == {"RZZ01", "RZZ02"}


def test_dry_run_saves_nothing(trust):
    result = import_sites(csv_dataset(SITES_CSV), dry_run=True)

    assert result.totals["new"] == 2
    assert not Site.objects.exists()
    assert not Site.history.exists()


def test_file_with_one_invalid_row_imports_nothing_and_reports_the_row_number(trust):
    text = SITES_CSV + "rzz3,Bad Code Hospital,RZZ,2022-04-01,\n"

    result = import_sites(csv_dataset(text))

    assert result.has_validation_errors()
    assert [row.number for row in result.invalid_rows] == [3]
    assert not Site.objects.exists()


def test_row_naming_an_unknown_organisation_imports_nothing_and_reports_the_row_number(trust):
    text = SITES_CSV + "RYY01,Orphan Hospital,RYY,2022-04-01,\n"

    result = import_sites(csv_dataset(text))

    assert [row.number for row in result.invalid_rows] == [3]
    assert result.invalid_rows[0].error_dict == {
        "organisation": ["no organisation has the code “RYY”."]}
    assert not Site.objects.exists()


def test_row_breaking_a_model_rule_is_a_validation_error(trust):
    text = "code,name,organisation,opened,closed\nRZZ01,New Hospital,RZZ,2020-04-01,2019-04-01\n"

    result = import_sites(csv_dataset(text))

    [invalid] = result.invalid_rows
    assert "closed must not be before opened." in str(invalid.error_dict)
    assert not Site.objects.exists()


def test_nicip_import_finds_the_snomed_concept_by_its_snomed_code():
    concept = SnomedConceptFactory(concept_id="399208008")
    text = "code,description,modality,snomed_code,valid_from,valid_to\nXCHES,XR Chest,XRAY,399208008,,\n"

    result = NicipCodeResource().import_data(csv_dataset(text), raise_errors=False,
                                             rollback_on_validation_errors=True)

    assert not result.has_errors() and not result.has_validation_errors()
    assert NicipCode.objects.get(code="XCHES").snomed == concept


def test_organisation_import_finds_the_successor_by_its_code():
    OrganisationFactory(code="RAJ")
    text = ("code,name,type,region,in_scope_from,in_scope_to,opened,closed,successor\n"
            "RDD,Basildon,foundation_trust,East of England,2012-04-01,2020-03-31,1992-04-01,"
            "2020-03-31,RAJ\n")

    OrganisationResource().import_data(csv_dataset(text), raise_errors=True)

    assert Organisation.objects.get(code="RDD").successor_id == "RAJ"


def test_imported_rows_carry_the_importing_user_and_the_file_name_in_history(trust):
    user = UserFactory()

    import_sites(csv_dataset(SITES_CSV), user=user, file_name="new-sites.csv")

    records = Site.history.all()
    assert {r.history_user for r in records} == {user}
    assert {r.history_change_reason for r in records} == {"Imported from new-sites.csv"}


def test_reimporting_unchanged_rows_writes_no_history(trust):
    import_sites(csv_dataset(SITES_CSV))

    result = import_sites(csv_dataset(SITES_CSV))

    assert result.totals["skip"] == 2
    assert Site.history.count() == 2


def test_reimporting_a_changed_row_updates_it_with_history(trust):
    import_sites(csv_dataset(SITES_CSV))

    import_sites(csv_dataset(SITES_CSV.replace("New Clinic", "New Clinic (renamed)")))

    site = Site.objects.get(code="RZZ02")
    assert site.name == "New Clinic (renamed)"
    assert site.history.count() == 2


def test_export_writes_foreign_keys_as_codes():
    SiteFactory(code="RZZ01", organisation=OrganisationFactory(code="RZZ"))

    dataset = SiteResource().export()

    assert dataset.headers == ["code", "name", "organisation", "opened", "closed"]
    assert dataset.dict[0]["organisation"] == "RZZ"


def test_export_writes_the_nicip_snomed_concept_as_snomed_code():
    NicipCode.objects.create(code="XCHES", description="XR Chest", modality="XRAY",
                             snomed=SnomedConceptFactory(concept_id="399208008"))

    dataset = NicipCodeResource().export()

    assert dataset.dict[0]["snomed_code"] == "399208008"
