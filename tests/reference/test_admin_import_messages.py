"""A malformed import file in the reference admin: a message naming the row and the column,
never a traceback, and nothing imported."""

from __future__ import annotations

import pytest

from reference.models import Code, Site
from tests.reference.test_admin import preview, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, reference_admin):
    client.force_login(reference_admin)
    return client


HEADER = "code,name,organisation,opened,closed\n"


def problems(response) -> list[str]:
    html = response.content.decode()
    assert "Traceback" not in html
    assert response.context.get("confirm_form") is None
    return response.context["import_problems"]


def test_a_bad_date_is_named_by_row_and_column(admin_client):
    text = HEADER + "RR8A1,Leeds Imaging Centre,RR8,2024-04-01,\nRR8A2,Leeds CDC,RR8,2024-13-45,\n"

    response = preview(admin_client, "site", upload("sites.csv", text.encode()))

    assert problems(response) == [
        "Row 2 (line 3 of the file), column “opened”: “2024-13-45” is not a date: write dates "
        "as YYYY-MM-DD, such as 2026-04-30."
    ]
    assert not Site.objects.filter(code__startswith="RR8A").exists()


def test_wrong_columns_are_named_without_a_traceback(admin_client):
    response = preview(
        admin_client, "site", upload("sites.csv", b"code,title,trust\nRR8A1,A,RR8\n")
    )

    assert problems(response) == [
        "The file's first row has no columns “name”, “organisation”, “opened”, “closed” and has "
        "columns “title”, “trust” this import does not know. It must name these columns: code, "
        "name, organisation, opened, closed."
    ]


def test_a_file_that_is_not_utf8_names_the_line_and_column(admin_client):
    text = (HEADER + "RR8A1,Caf\xe9 Imaging,RR8,2024-04-01,\n").encode("latin-1")

    response = preview(admin_client, "site", upload("sites.csv", text))

    html = response.content.decode()
    assert "Traceback" not in html and "UnicodeDecodeError" not in html
    assert response.context["form"].errors["import_file"] == [
        "The file is not UTF-8 text: line 2, column 2 (“name”) has a character that cannot be "
        "read (byte 0xe9). Save it as “CSV UTF-8” and upload it again."
    ]


def test_an_unknown_code_of_a_foreign_key_is_named_by_row_and_column(admin_client):
    text = HEADER + "RR8A1,Leeds Imaging Centre,RYY,2024-04-01,\n"

    response = preview(admin_client, "site", upload("sites.csv", text.encode()))

    assert problems(response) == [
        "Row 1 (line 2 of the file), column “organisation”: no organisation has the code “RYY”."
    ]


def test_a_code_of_an_unknown_list_is_named_by_its_row(admin_client):
    text = "list,code,description,valid_from,valid_to\nNO_SUCH_LIST,X,Something,2024-04-01,\n"

    response = preview(admin_client, "code", upload("codes.csv", text.encode()))

    assert problems(response) == [
        "Row 1 (line 2 of the file): no code list has the name “NO_SUCH_LIST”."
    ]
    assert not Code.objects.filter(code="X").exists()
