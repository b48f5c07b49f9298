"""`./dev` finds Python 3.11 and replaces a .venv made with another Python (nothing installed)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL_311 = sys.executable if sys.version_info[:2] == (3, 11) else shutil.which("python3.11")


def _stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run(folder: Path, bin_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "dev", folder / "dev")
    path = f"{bin_dir}:/usr/bin:/bin"
    return subprocess.run(["bash", str(folder / "dev"), "python"], cwd=folder, text=True,
                          capture_output=True, env={"PATH": path, "HOME": str(folder), **env},
                          timeout=30)


@pytest.fixture
def python3_is_312(tmp_path: Path) -> Path:
    """A PATH whose python3 is 3.12 and whose python3.11 is a real 3.11."""
    bin_dir = tmp_path / "bin"
    _stub(bin_dir / "python3", 'echo 3.12')
    assert REAL_311, "the suite runs on Python 3.11"
    _stub(bin_dir / "python3.11", f'exec "{REAL_311}" "$@"')
    return bin_dir


def test_dev_takes_python3_11_when_python3_is_another_version(tmp_path, python3_is_312):
    result = _run(tmp_path, python3_is_312)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python3.11"


def test_dev_makes_a_venv_of_another_python_anew_and_says_so(tmp_path, python3_is_312):
    _stub(tmp_path / ".venv" / "bin" / "python", "echo 3.12")
    result = _run(tmp_path, python3_is_312)
    assert result.returncode == 0
    assert ".venv was made with Python 3.12: making it anew with Python 3.11." in result.stderr
    assert not (tmp_path / ".venv").exists()


def test_dev_refuses_clearly_when_no_python_3_11_is_found(tmp_path):
    bin_dir = tmp_path / "bin"
    _stub(bin_dir / "python3", "echo 3.12")
    result = _run(tmp_path, bin_dir, PYTHON=str(bin_dir / "python3"))
    assert result.returncode == 3
    assert "The portal needs Python 3.11" in result.stderr
    assert "PYTHON=/path/to/python3.11" in result.stderr
