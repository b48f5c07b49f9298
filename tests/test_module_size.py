"""No product module grows past 400 lines: past that, a module has seams to be split along."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("accounts", "reference", "submissions", "dids_portal")
LIMIT = 400


def test_no_product_module_is_over_400_lines() -> None:
    modules = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
               if "migrations" not in path.parts]
    assert len(modules) > 50  # the walk found the project
    long = {str(path.relative_to(ROOT)): lines for path in modules
            if (lines := len(path.read_text().splitlines())) > LIMIT}
    assert not long, f"modules over {LIMIT} lines (split them along their seams): {long}"
