from dids_portal.lib.csvsafe import safe_cell


def test_cells_that_start_like_formulas_are_neutralised():
    for cell in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]:
        assert safe_cell(cell) == "'" + cell


def test_ordinary_cells_and_numbers_are_left_alone():
    assert safe_cell("RR801") == "RR801"
    assert safe_cell(12) == 12
    assert safe_cell("") == ""
