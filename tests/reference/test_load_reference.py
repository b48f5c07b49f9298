import csv
import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from reference.loaders import SAMPLE_DIR, ReleaseFileError, read_ods
from reference.models import (
    Code,
    CodeList,
    NicipCode,
    Organisation,
    ReferenceRelease,
    Site,
    SnomedConcept,
    SubmittingArrangement,
)
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

HISTORIED = (Organisation, Site, SubmittingArrangement, CodeList, Code, SnomedConcept, NicipCode)
SAMPLE_LABEL = "DIDS portal sample reference 2026.11"


def load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_reference", *args, stdout=out)
    return out.getvalue()


def history_count() -> int:
    return sum(model.history.count() for model in HISTORIED)


def nothing_loaded() -> bool:
    return not any(model.objects.exists() for model in (*HISTORIED, ReferenceRelease))


@pytest.fixture
def release_dir(tmp_path):
    """A writable copy of the sample release."""
    directory = tmp_path / "release"
    shutil.copytree(SAMPLE_DIR, directory)
    return directory


def replace_in(path, old: str, new: str) -> int:
    """Replace text in a release file; returns the (1-based) line it was on."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        if old in line:
            lines[number - 1] = line.replace(old, new, 1)
            path.write_text("".join(lines), encoding="utf-8")
            return number
    raise AssertionError(f"{old!r} is not in {path.name}")


def append_to(path, line: str) -> int:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return len(path.read_text(encoding="utf-8").splitlines())


def write_ods(path, rows: list[dict[int, str]], width: int = 27) -> None:
    """A headerless ODS file: each row gives the cells at the published positions."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow([row.get(i, "") for i in range(width)])


# The sample


def test_loads_the_sample_with_rr8_and_its_sites():
    load()

    rr8 = Organisation.objects.get(code="RR8")
    assert rr8.name == "Leeds Teaching Hospitals NHS Trust"
    assert {"RR801", "RR813"} <= set(rr8.sites.values_list("code", flat=True))


def test_loads_every_kind_of_reference_data_in_the_sample():
    load()

    assert all(model.objects.exists() for model in HISTORIED)
    assert NicipCode.objects.get(code="XCHES").snomed_id == "399208008"
    assert Organisation.objects.get(code="RDD").successor_id == "RAJ"


def test_records_the_release_with_its_label_and_sample_flag():
    output = load()

    release = ReferenceRelease.objects.get()
    assert release.label == SAMPLE_LABEL
    assert release.is_sample
    assert len(release.checksum) == 64
    assert release.summary["organisations"]["created"] == Organisation.objects.count()
    assert "SAMPLE data" in output


def test_history_rows_name_the_release_as_their_reason():
    load()

    reasons = {r for model in HISTORIED
               for r in model.history.values_list("history_change_reason", flat=True)}
    assert reasons == {f"Reference release '{SAMPLE_LABEL}'"}


def test_history_rows_carry_the_loading_user():
    user = UserFactory(email="loader@england.example.nhs.uk")

    load("--user", "Loader@England.example.nhs.uk")

    assert set(Site.history.values_list("history_user", flat=True)) == {user.pk}
    assert ReferenceRelease.objects.get().loaded_by == user


def test_unknown_user_is_refused_and_nothing_is_loaded():
    with pytest.raises(CommandError, match="No user"):
        load("--user", "nobody@example.nhs.uk")

    assert nothing_loaded()


def test_second_load_of_the_same_release_creates_no_release_and_no_history():
    load()
    history_before = history_count()

    output = load()

    assert ReferenceRelease.objects.count() == 1
    assert history_count() == history_before
    assert "already loaded; nothing changed" in output


def test_changed_row_is_updated_with_history_and_a_new_release(release_dir):
    load(str(release_dir))
    replace_in(release_dir / "sites.csv", "Leeds General Infirmary", "Leeds General Infirmary (LGI)")

    load(str(release_dir))

    site = Site.objects.get(code="RR813")
    assert site.name == "Leeds General Infirmary (LGI)"
    assert site.history.count() == 2
    assert ReferenceRelease.objects.count() == 2
    assert ReferenceRelease.objects.first().summary["sites"]["updated"] == 1


# Malformed files load nothing and say where


def test_bad_date_loads_nothing_and_names_the_file_and_line(release_dir):
    line = replace_in(release_dir / "sites.csv", "RR813,Leeds General Infirmary,RR8,1998-04-01",
                      "RR813,Leeds General Infirmary,RR8,1998-13-01")

    with pytest.raises(CommandError) as excinfo:
        load(str(release_dir))

    assert f"sites.csv line {line}" in str(excinfo.value)
    assert "1998-13-01" in str(excinfo.value)
    assert nothing_loaded()


def test_unknown_successor_loads_nothing_and_names_the_file_and_line(release_dir):
    line = replace_in(release_dir / "organisations.csv", "2020-03-31,RAJ", "2020-03-31,RZZ")

    with pytest.raises(CommandError) as excinfo:
        load(str(release_dir))

    assert f"organisations.csv line {line}" in str(excinfo.value)
    assert "successor RZZ" in str(excinfo.value)
    assert nothing_loaded()


def test_site_of_an_unknown_organisation_loads_nothing_and_names_the_file_and_line(release_dir):
    line = append_to(release_dir / "sites.csv", "RZZ01,Nowhere Hospital,RZZ,2000-01-01,")

    with pytest.raises(CommandError) as excinfo:
        load(str(release_dir))

    assert f"sites.csv line {line}" in str(excinfo.value)
    assert "organisation RZZ of site RZZ01 is unknown" in str(excinfo.value)
    assert nothing_loaded()


def test_nicip_code_of_an_unknown_snomed_concept_loads_nothing(release_dir):
    line = append_to(release_dir / "nicip.csv", "XZZZZ,XR Nothing,XRAY,999999999,,")

    with pytest.raises(CommandError) as excinfo:
        load(str(release_dir))

    assert f"nicip.csv line {line}" in str(excinfo.value)
    assert nothing_loaded()


def test_row_failing_model_validation_loads_nothing_and_names_the_field(release_dir):
    line = append_to(release_dir / "organisations.csv", "RZZ,Somewhere,not_a_type,,,,,,,")

    with pytest.raises(CommandError) as excinfo:
        load(str(release_dir))

    assert f"organisations.csv line {line}: type" in str(excinfo.value)
    assert nothing_loaded()


def test_duplicate_row_loads_nothing_and_names_the_line(release_dir):
    line = append_to(release_dir / "sites.csv", "RR801,St James's again,RR8,1998-04-01,")

    with pytest.raises(CommandError) as excinfo:
        load(str(release_dir))

    assert f"sites.csv line {line}: duplicate" in str(excinfo.value)
    assert nothing_loaded()


def test_missing_column_loads_nothing_and_names_the_file(release_dir):
    path = release_dir / "sites.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",closed\n", ",shut\n", 1),
                    encoding="utf-8")

    with pytest.raises(CommandError, match=r"sites\.csv: missing column\(s\) closed"):
        load(str(release_dir))

    assert nothing_loaded()


def test_directory_without_release_files_is_refused(tmp_path):
    with pytest.raises(CommandError, match="holds none of"):
        load(str(tmp_path))


# ODS headerless files


def test_reads_an_ods_trusts_file_by_position(tmp_path):
    path = tmp_path / "etr.csv"
    write_ods(path, [{0: "rzz", 1: "NEW TEST HOSPITALS NHS TRUST", 10: "20200401", 11: ""}])

    [row] = read_ods(path, kind="trusts")

    assert row["code"] == "RZZ"
    assert row["name"] == "New Test Hospitals NHS Trust"
    assert str(row["opened"]) == "2020-04-01"
    assert row["closed"] is None
    assert row["_where"] == "etr.csv line 1"


def test_reads_the_parent_organisation_of_an_ods_site_from_column_15(tmp_path):
    path = tmp_path / "ets.csv"
    write_ods(path, [{0: "RZZ01", 1: "NEW HOSPITAL", 10: "20200401", 14: "RZZ"}])

    [row] = read_ods(path, kind="sites")

    assert row["organisation"] == "RZZ"


def test_ods_file_with_too_few_columns_names_the_file_and_line(tmp_path):
    path = tmp_path / "etr.csv"
    write_ods(path, [{0: "RZZ", 1: "A TRUST"}])
    with path.open("a", encoding="utf-8") as handle:
        handle.write("RZY,SHORT ROW\n")

    with pytest.raises(ReleaseFileError, match=r"etr\.csv line 2: too few columns"):
        read_ods(path, kind="trusts")


def test_ods_bad_date_names_the_file_and_line(tmp_path):
    path = tmp_path / "etr.csv"
    write_ods(path, [{0: "RZZ", 1: "A TRUST", 10: "2020-02-30"}])

    with pytest.raises(ReleaseFileError, match=r"etr\.csv line 1: open date"):
        read_ods(path, kind="trusts")


def test_loads_ods_trusts_and_sites_alongside_a_release(tmp_path):
    trusts, sites = tmp_path / "etr.csv", tmp_path / "ets.csv"
    write_ods(trusts, [{0: "RZZ", 1: "NEW TEST NHS TRUST", 10: "20200401"}])
    write_ods(sites, [{0: "RZZ01", 1: "NEW HOSPITAL", 10: "20200401", 14: "RZZ"}])

    load("--ods-trusts", str(trusts), "--ods-sites", str(sites))

    trust = Organisation.objects.get(code="RZZ")
    assert trust.type == "nhs_trust"
    assert Site.objects.get(code="RZZ01").organisation == trust
    assert Organisation.objects.filter(code="RR8").exists()


def test_loads_ods_gp_practices_as_gp_practices(tmp_path):
    practices = tmp_path / "epraccur.csv"
    write_ods(practices, [{0: "Y99999", 1: "TEST SURGERY", 10: "19740401"}])

    load("--ods-gp", str(practices))

    assert Organisation.objects.get(code="Y99999").type == "gp_practice"


def test_ods_site_of_an_unknown_parent_loads_nothing(tmp_path):
    sites = tmp_path / "ets.csv"
    write_ods(sites, [{0: "RZZ01", 1: "NEW HOSPITAL", 10: "20200401", 14: "RZZ"}])

    with pytest.raises(CommandError, match=r"ets\.csv line 1: organisation RZZ"):
        load("--ods-sites", str(sites))

    assert nothing_loaded()


def test_missing_ods_file_loads_nothing(tmp_path):
    with pytest.raises(CommandError, match="Nothing was loaded"):
        load("--ods-trusts", str(tmp_path / "absent.csv"))

    assert nothing_loaded()


def test_an_ods_load_keeps_the_portals_region_and_collection_scope(tmp_path):
    load()
    trusts = tmp_path / "etr.csv"
    write_ods(trusts, [{0: "RR8", 1: "LEEDS TEACHING HOSPITALS NHS TRUST", 10: "19980401"}])

    load("--ods-trusts", str(trusts))

    rr8 = Organisation.objects.get(code="RR8")
    assert rr8.name == "Leeds Teaching Hospitals NHS Trust"
    assert rr8.in_scope_from is not None
    assert rr8.region == "North East and Yorkshire"
