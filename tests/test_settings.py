"""Settings come from the environment and fail loudly; the settings module runs in a subprocess."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dids_portal.lib.env import env_bool, env_float, env_int, env_list, env_secret, env_str

PRINT_SETTINGS = (
    "import json; from django.conf import settings; "
    "print(json.dumps({'debug': settings.DEBUG, 'engine': settings.DATABASES['default']['ENGINE'],"
    " 'is_postgres': settings.IS_POSTGRES, 'secret': settings.SECRET_KEY,"
    " 'hosts': settings.ALLOWED_HOSTS, 'eager': settings.CELERY_TASK_ALWAYS_EAGER}))"
)
CLEARED = ("SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS", "CELERY_BROKER_URL",
           "DIDS_MAX_UPLOAD_BYTES", "SECURE_COOKIES", "DIDS_PSEUDONYM_KEY", "DIDS_TOKEN_DAYS")


def run_settings(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environ.update(env, DJANGO_SETTINGS_MODULE="dids_portal.settings")
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], env=environ, cwd=settings.BASE_DIR,
        capture_output=True, text=True, timeout=60,
    )


def loaded(**env: str) -> dict:
    result = run_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# The settings module


def test_settings_without_secret_key_and_without_debug_fail_loudly():
    result = run_settings()

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_settings_with_debug_use_a_development_secret_key():
    values = loaded(DEBUG="1")

    assert values["debug"] is True
    assert values["secret"].startswith("django-insecure-")
    assert values["hosts"] == ["127.0.0.1", "localhost"]


def test_settings_without_database_url_use_sqlite_and_run_tasks_eagerly():
    values = loaded(SECRET_KEY="s3cret")

    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["is_postgres"] is False
    assert values["eager"] is True


def test_settings_with_a_postgres_database_url_use_postgresql():
    values = loaded(SECRET_KEY="s3cret", DATABASE_URL="postgres://dids@db.example:5432/dids")

    assert values["engine"] == "django.db.backends.postgresql"
    assert values["is_postgres"] is True


def test_settings_with_a_bad_database_url_fail_loudly():
    result = run_settings(SECRET_KEY="s3cret", DATABASE_URL="nosuchdb://somewhere/dids")

    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL is not a valid database URL" in result.stderr


def test_settings_with_a_debug_value_that_is_not_a_boolean_fail_loudly():
    result = run_settings(SECRET_KEY="s3cret", DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_settings_with_a_pseudonym_key_shorter_than_32_bytes_fail_loudly():
    result = run_settings(SECRET_KEY="s3cret", DIDS_PSEUDONYM_KEY="k" * 31)

    assert result.returncode != 0
    assert "DIDS_PSEUDONYM_KEY must be at least 32 bytes long, got 31" in result.stderr


def test_settings_accept_a_pseudonym_key_of_32_bytes_or_none():
    assert run_settings(SECRET_KEY="s3cret", DIDS_PSEUDONYM_KEY="k" * 32).returncode == 0
    assert run_settings(SECRET_KEY="s3cret").returncode == 0


def test_settings_with_an_upload_limit_below_its_minimum_fail_loudly():
    result = run_settings(SECRET_KEY="s3cret", DIDS_MAX_UPLOAD_BYTES="10")

    assert result.returncode != 0
    assert "DIDS_MAX_UPLOAD_BYTES must be at least 1024" in result.stderr


# The typed helpers


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_env_bool_reads_true_values(monkeypatch, value):
    monkeypatch.setenv("DIDS_TEST_FLAG", value)

    assert env_bool("DIDS_TEST_FLAG") is True


@pytest.mark.parametrize("value", ["0", "false", "No", "off", ""])
def test_env_bool_reads_false_values(monkeypatch, value):
    monkeypatch.setenv("DIDS_TEST_FLAG", value)

    assert env_bool("DIDS_TEST_FLAG", default=True) is False


def test_env_bool_falls_back_to_its_default_when_unset(monkeypatch):
    monkeypatch.delenv("DIDS_TEST_FLAG", raising=False)

    assert env_bool("DIDS_TEST_FLAG", default=True) is True


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("DIDS_TEST_FLAG", "enabled")

    with pytest.raises(ImproperlyConfigured, match="DIDS_TEST_FLAG must be a boolean"):
        env_bool("DIDS_TEST_FLAG")


def test_env_int_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv("DIDS_TEST_NUMBER", " 42 ")

    assert env_int("DIDS_TEST_NUMBER", 7) == 42


def test_env_int_falls_back_to_its_default_when_unset_or_empty(monkeypatch):
    monkeypatch.setenv("DIDS_TEST_NUMBER", "")

    assert env_int("DIDS_TEST_NUMBER", 7) == 7


def test_env_int_refuses_a_number_that_is_not_whole(monkeypatch):
    monkeypatch.setenv("DIDS_TEST_NUMBER", "1.5")

    with pytest.raises(ImproperlyConfigured, match="DIDS_TEST_NUMBER must be a whole number"):
        env_int("DIDS_TEST_NUMBER", 7)


def test_env_int_refuses_a_number_below_its_minimum(monkeypatch):
    monkeypatch.setenv("DIDS_TEST_NUMBER", "3")

    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        env_int("DIDS_TEST_NUMBER", 7, minimum=5)


def test_env_list_splits_on_commas_and_drops_empty_items(monkeypatch):
    monkeypatch.setenv("DIDS_TEST_LIST", " a.example , b.example,, ")

    assert env_list("DIDS_TEST_LIST") == ["a.example", "b.example"]


def test_env_list_falls_back_to_a_copy_of_its_default(monkeypatch):
    monkeypatch.delenv("DIDS_TEST_LIST", raising=False)
    default = ["localhost"]

    value = env_list("DIDS_TEST_LIST", default)

    assert value == default
    assert value is not default


def test_env_str_strips_surrounding_spaces(monkeypatch):
    monkeypatch.setenv("DIDS_TEST_TEXT", "  value  ")

    assert env_str("DIDS_TEST_TEXT") == "value"


def test_env_str_falls_back_to_its_default_when_unset(monkeypatch):
    monkeypatch.delenv("DIDS_TEST_TEXT", raising=False)

    assert env_str("DIDS_TEST_TEXT", "fallback") == "fallback"


def test_env_secret_is_empty_when_unset(monkeypatch):
    monkeypatch.delenv("DIDS_TEST_SECRET", raising=False)
    assert env_secret("DIDS_TEST_SECRET", min_bytes=32) == ""


def test_env_secret_counts_bytes_not_characters(monkeypatch):
    monkeypatch.setenv("DIDS_TEST_SECRET", "é" * 16)  # 16 characters, 32 bytes
    assert env_secret("DIDS_TEST_SECRET", min_bytes=32) == "é" * 16
    monkeypatch.setenv("DIDS_TEST_SECRET", "é" * 15)
    with pytest.raises(ImproperlyConfigured, match="at least 32 bytes"):
        env_secret("DIDS_TEST_SECRET", min_bytes=32)


def test_a_plausibility_threshold_that_is_not_a_number_fails_loudly():
    result = run_settings(SECRET_KEY="s3cret", DIDS_PLAUSIBILITY_BELOW="thirty")

    assert result.returncode != 0
    assert "DIDS_PLAUSIBILITY_BELOW must be a number" in result.stderr


@pytest.mark.parametrize(("value", "ok"), [("0.25", True), ("1", True), ("-0.1", False),
                                           ("1.5", False), ("nan", False)])
def test_env_float_reads_numbers_within_their_bounds(monkeypatch, value, ok):
    monkeypatch.setenv("DIDS_X", value)
    if ok:
        assert env_float("DIDS_X", 0.3, minimum=0.0, maximum=1.0) == float(value)
    else:
        with pytest.raises(ImproperlyConfigured):
            env_float("DIDS_X", 0.3, minimum=0.0, maximum=1.0)


# The test settings' temporary folders

def _import_test_settings(tmp_path, code: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "dids_portal.settings_test",
               "TMPDIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code],
                          env=environ, cwd=settings.BASE_DIR, capture_output=True, text=True,
                          timeout=60)


def test_a_process_that_imports_the_test_settings_and_exits_abruptly_leaves_no_folder(tmp_path):
    # as mypy's Django plugin does: it ends with os._exit, so no atexit handler runs
    result = _import_test_settings(tmp_path, "import os; os._exit(0)")
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_suite_s_media_and_static_folders_are_removed_when_it_ends(tmp_path):
    result = _import_test_settings(
        tmp_path, "from dids_portal.settings_test import test_folders_make; test_folders_make(); "
                  "import os; print(len(os.listdir(os.environ['TMPDIR'])))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
    assert list(tmp_path.iterdir()) == []
