import re

import pytest

from submissions.engine import load_rules


@pytest.mark.django_db
def test_the_rules_page_documents_every_rule_with_an_anchor_and_needs_no_sign_in(client):
    response = client.get("/rules/")
    assert response.status_code == 200
    html = response.content.decode()
    for rule in load_rules().rules:
        assert f'id="{rule.id}"' in html


@pytest.mark.django_db
def test_the_rules_page_documents_every_data_item_of_both_versions(client):
    html = client.get("/rules/").content.decode()
    for column in ("nhs_number", "test_date", "procedure_start", "waiting_list_clock_start"):
        assert f'id="item-{column}"' in html


@pytest.mark.django_db
def test_a_rule_whose_severity_changes_in_the_data_shows_its_new_severity(client, monkeypatch):
    import dataclasses

    import submissions.engine.rules as rules_module

    original = rules_module.load_rules()
    first = original.rules[0]
    changed = dataclasses.replace(first, severity="warn" if first.severity != "warn" else "reject")
    patched = dataclasses.replace(original, rules=(changed, *original.rules[1:]))
    monkeypatch.setattr(rules_module, "load_rules", lambda *a, **k: patched)
    html = client.get("/rules/").content.decode()
    row = html[html.index(f'id="{first.id}"'):]
    row = row[:row.index("</tr>")]
    label = {"warn": "Warning: record kept", "reject": "Record rejected"}[changed.severity]
    assert f">{label}<" in row


@pytest.mark.django_db
def test_every_rule_of_every_dataset_version_is_documented_with_no_placeholder_left(client):
    from submissions.engine import rules_documentation
    from submissions.selectors import code_list_codes

    for rule in rules_documentation(code_list_codes())["rules"]:
        for version, text in rule["expected_by_version"].items():
            assert "{" not in text and "}" not in text, (rule["id"], version, text)
        assert "{" not in rule["explanation"] + rule["example"], rule["id"]
    html = client.get("/rules/").content.decode()
    table = html[html.index('id="rules"'):html.index('id="items"')]
    assert "{" not in table and "}" not in table


@pytest.mark.django_db
def test_a_code_list_rule_lists_the_codes_of_its_code_list(client):
    from reference.models import Code, CodeList

    code_list, _ = CodeList.objects.get_or_create(name="nhs_number_status",
                                                  defaults={"title": "NHS number status"})
    for code in ("01", "02"):
        Code.objects.get_or_create(code_list=code_list, code=code, defaults={"description": code})
    html = client.get("/rules/").content.decode()
    row = html[html.index('id="DIDS003"'):]
    row = row[:row.index("</tr>")]
    assert "Expected: one of 01, 02" in row


@pytest.mark.django_db
def test_the_rules_table_names_items_in_sentence_case_never_as_columns(client):
    from submissions.engine.layout import load_layouts

    html = client.get("/rules/").content.decode()
    table = html[html.index('id="rules"') : html.index('id="items"')]
    row = table[table.index('id="DIDS056"') :]
    assert "NICIP code, SNOMED CT code" in row[: row.index("</tr>")]
    unquoted = re.sub(r"&#x27;.*?&#x27;", "", table)  # a header cell, quoted, is named as written
    for item in load_layouts().items:
        if "_" in item.column:
            assert item.column not in unquoted, item.column


@pytest.mark.django_db
def test_the_items_table_gives_each_item_its_display_name_beside_its_column(client):
    html = client.get("/rules/").content.decode()
    row = html[html.index('id="item-gp_practice"') :]
    row = row[: row.index("</tr>")]
    assert "General medical practice code (patient registration)" in row
    assert "<code>gp_practice</code>" in row


@pytest.mark.django_db
def test_the_items_table_gives_each_item_its_group_and_format_as_the_spec_writes_them(client):
    from submissions.engine import load_layouts

    html = client.get("/rules/").content.decode()
    for item in load_layouts().items:
        row = html[html.index(f'id="item-{item.column}"') :]
        cells = re.findall(r'heading">(Group|Format) </span>([^<]*)', row[: row.index("</tr>")])
        assert [c[0] for c in cells] == ["Group", "Format"], item.column
        assert cells[0][1] == item.group, item.column
        assert cells[1][1].startswith(item.format), item.column
