"""The reference admin's history page says who changed what and why in words, and codes can
be found by their code list's name."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from reference.models import Code, CodeList, Site
from tests.reference.test_admin import site_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, reference_admin):
    reference_admin.full_name = "Jane Admin"
    reference_admin.save()
    client.force_login(reference_admin)
    return client


def history_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_history_says_who_changed_which_values_and_why(admin_client):
    site = Site.objects.get(code="RR813")
    admin_client.post(
        "/admin/reference/site/RR813/change/",
        site_form(
            site, name="Leeds General", closed="2027-03-31", change_reason="Renamed by the trust"
        ),
    )
    latest = site.history.latest("history_date")
    # GMT: London is on UTC in November. The first version was loaded before.
    site.history.exclude(pk=latest.pk).update(history_date=datetime(2026, 11, 1, tzinfo=UTC))
    site.history.filter(pk=latest.pk).update(history_date=datetime(2026, 11, 3, 14, 5, tzinfo=UTC))

    html = history_of(admin_client, "/admin/reference/site/RR813/history/")

    assert (
        "Changed by Jane Admin on 3 Nov 2026 at 14:05: name Leeds General Infirmary → "
        "Leeds General; closed blank → 2027-03-31. Reason: Renamed by the trust"
    ) in html
    assert "history_change_reason" not in html.lower()


def test_a_change_with_no_user_is_told_as_made_by_the_system(admin_client):
    site = Site.objects.get(code="RR813")
    site.closed = date(2027, 3, 31)
    site._change_reason = "Closed by the ODS refresh"
    site.save()

    html = history_of(admin_client, "/admin/reference/site/RR813/history/")

    assert "Changed by the system on " in html
    assert "closed blank → 2027-03-31. Reason: Closed by the ODS refresh" in html
    assert "None" not in html


def test_the_first_version_is_told_as_created(admin_client):
    html = history_of(admin_client, "/admin/reference/site/RR813/history/")

    assert "Created by the system on " in html


def test_codes_are_found_by_their_code_list_name_and_title(admin_client):
    rooms = CodeList.objects.create(name="scanner_room", title="Scanner rooms")
    Code.objects.create(code_list=rooms, code="R1", description="Room one")
    other = CodeList.objects.create(name="other_list", title="Something else")
    Code.objects.create(code_list=other, code="R2", description="Room two")

    by_name = admin_client.get("/admin/reference/code/", {"q": "scanner_room"})
    by_title = admin_client.get("/admin/reference/code/", {"q": "Scanner rooms"})

    for response in (by_name, by_title):
        found = list(response.context["cl"].result_list)
        assert [code.code for code in found] == ["R1"]
