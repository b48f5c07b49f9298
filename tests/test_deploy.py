"""``manage.py check --deploy`` is clean with production settings (a subprocess, real env)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _check_deploy(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "SECURE_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"))}
    # Production runs management commands with DEBUG=0 (manage.py defaults to development).
    env.update({"DJANGO_SETTINGS_MODULE": "dids_portal.settings", "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "dids.example.nhs.uk",
                **overrides})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_https_is_switched_off() -> None:
    result = _check_deploy(SECURE_SSL_REDIRECT="0", SECURE_COOKIES="0")
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout
