"""The engine is a plain library: it imports nothing from Django."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "submissions" / "engine"


def test_no_engine_module_imports_django():
    for path in ENGINE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n == "django" or n.startswith("django.") for n in names), f"{path}: {names}"


def test_importing_and_running_the_engine_loads_no_django_module():
    code = (
        "import sys, io, datetime\n"
        "from submissions.engine import ReferenceSnapshot, CheckContext, validate, generate_file\n"
        "ref = ReferenceSnapshot.from_directory('reference/data/sample')\n"
        "buf = io.BytesIO()\n"
        "generate_file(buf, rows=50, org='RR8', month=datetime.date(2026, 2, 1), dataset_version='1.0', reference=ref, seed=1)\n"
        "buf.seek(0)\n"
        "validate(buf, context=CheckContext(submitting_org='RR8'), reference=ref)\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not bad, bad\n"
    )
    root = ENGINE.parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr


def test_the_offline_checker_runs_without_loading_any_django_module(tmp_path):
    code = (
        "import sys, io, datetime, contextlib\n"
        "from submissions.engine import ReferenceSnapshot, RULESET_VERSION, generate_file\n"
        "from submissions.engine.cli import main\n"
        "from submissions.engine.snapshot_file import snapshot_write\n"
        "ref = ReferenceSnapshot.from_directory('reference/data/sample')\n"
        f"snapshot_write(ref, {str(tmp_path / 'ref.json')!r}, ruleset_version=RULESET_VERSION)\n"
        f"generate_file({str(tmp_path / 'f.csv')!r}, rows=5, org='RR8', month=datetime.date(2026, 6, 1), dataset_version='2.0', reference=ref, seed=1)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main([{str(tmp_path / 'f.csv')!r}, '--reference', {str(tmp_path / 'ref.json')!r}, '--org', 'RR8', '--month', '2026-06', '--as-of', '2026-07-01', '--format', 'json'])\n"
        "assert rc == 0, rc\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not bad, bad\n"
    )
    root = ENGINE.parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr


def test_the_offline_converter_runs_without_loading_any_django_module(tmp_path):
    code = (
        "import sys, io, datetime, contextlib\n"
        "from submissions.engine import ReferenceSnapshot, RULESET_VERSION, generate_file\n"
        "from submissions.engine.cli import main\n"
        "from submissions.engine.snapshot_file import snapshot_write\n"
        "ref = ReferenceSnapshot.from_directory('reference/data/sample')\n"
        f"snapshot_write(ref, {str(tmp_path / 'ref.json')!r}, ruleset_version=RULESET_VERSION)\n"
        f"generate_file({str(tmp_path / 'f.csv')!r}, rows=5, org='RR8', month=datetime.date(2026, 2, 1), dataset_version='1.0', reference=ref, seed=1)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['convert', {str(tmp_path / 'f.csv')!r}, '--output', {str(tmp_path / 'v2.csv')!r}, '--check', '--reference', {str(tmp_path / 'ref.json')!r}, '--org', 'RR8', '--month', '2026-02', '--as-of', '2026-03-01'])\n"
        "assert rc == 0, rc\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not bad, bad\n"
    )
    root = ENGINE.parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "v2.csv").read_text().startswith("nhs_number,")
