"""Shared fixtures: the sample reference release and the fixed personas of the access tests.

Personas: a provider submitter and a provider colleague (viewer) of RR8, a user of another
provider (RCD), a national analyst and a reference admin.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.models import User
from reference.loaders import SAMPLE_DIR, read_portal_directory
from reference.models import Organisation
from reference.services import reference_release_load
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.clock import OFFSET_ENV, SUITE_NOW

PASSWORD = "correct horse battery staple"


def pytest_sessionstart(session: pytest.Session) -> None:
    """The test settings' media and static folders exist while the suite runs (only the
    suite makes them, so a process that merely imports the settings leaves none behind)."""
    from django.conf import settings

    if settings.SETTINGS_MODULE == "dids_portal.settings_test":
        from dids_portal.settings_test import test_folders_make

        test_folders_make()


@pytest.fixture(autouse=True, scope="session")
def suite_clock() -> Iterator[None]:
    """Every test runs on the suite's clock (see tests/clock.py), ticking from SUITE_NOW."""
    os.environ[OFFSET_ENV] = str(time.time() - SUITE_NOW.timestamp())
    with time_machine.travel(SUITE_NOW, tick=True):
        yield
    os.environ.pop(OFFSET_ENV, None)


@pytest.fixture
def sample_reference(db: None) -> None:
    """The shipped SAMPLE release, loaded as load_reference loads it."""
    reference_release_load(release=read_portal_directory(SAMPLE_DIR))


@pytest.fixture
def rr8(sample_reference: None) -> Organisation:
    return Organisation.objects.get(code="RR8")


@pytest.fixture
def other_org(sample_reference: None) -> Organisation:
    return Organisation.objects.get(code="RCD")


def _persona(email: str, role: str, organisation: Organisation | None, *, staff: bool = False) -> User:
    user = UserFactory(email=email, is_staff=staff)
    MembershipFactory(user=user, role=role, organisation=organisation)
    return user


@pytest.fixture
def submitter(rr8: Organisation) -> User:
    return _persona("submitter@rr8.example.nhs.uk", Role.PROVIDER_SUBMITTER, rr8)


@pytest.fixture
def colleague(rr8: Organisation) -> User:
    return _persona("viewer@rr8.example.nhs.uk", Role.PROVIDER_VIEWER, rr8)


@pytest.fixture
def other_provider_user(other_org: Organisation) -> User:
    return _persona("submitter@rcd.example.nhs.uk", Role.PROVIDER_SUBMITTER, other_org)


@pytest.fixture
def analyst(sample_reference: None) -> User:
    return _persona("analyst@england.example.nhs.uk", Role.NATIONAL_ANALYST, None, staff=True)


@pytest.fixture
def reference_admin(sample_reference: None) -> User:
    return _persona("refadmin@england.example.nhs.uk", Role.REFERENCE_ADMIN, None, staff=True)


@pytest.fixture
def client_for(client: Client) -> Callable[[User], Client]:
    """The test client signed in as a persona (second factor completed)."""

    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def api_client_for() -> Callable[[User | None], APIClient]:
    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` or ``worker`` need those services.

    Without them they are skipped locally; with DIDS_REQUIRE_SERVICES=1 (CI) they must run, so
    a missing service fails the run instead of hiding behind a skip.
    """
    import os

    from django.conf import settings

    required = os.environ.get("DIDS_REQUIRE_SERVICES") == "1"
    have_postgres = settings.IS_POSTGRES
    have_broker = bool(settings.CELERY_BROKER_URL)
    if required and not (have_postgres and have_broker):
        raise pytest.UsageError(
            "DIDS_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL or CELERY_BROKER_URL is unset."
        )
    for item in items:
        if "worker" in item.keywords:
            # Real worker processes load the machine: under pytest-xdist they all run in one
            # process, one after another, never two suites of workers at once.
            item.add_marker(pytest.mark.xdist_group("real-workers"))
        if "postgres" in item.keywords and not have_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if "worker" in item.keywords and not (have_broker and have_postgres):
            item.add_marker(pytest.mark.skip(reason="needs Redis and PostgreSQL (set CELERY_BROKER_URL)"))


def _flush_past_the_audit_trigger() -> None:
    """Let the test database's flush (TransactionTestCase) empty the append-only audit table.

    PostgreSQL's trigger refuses TRUNCATE of ``accounts_auditevent`` to everyone; the tests
    connect as a superuser, who may switch triggers off for the flush's own transaction
    (``session_replication_role = replica``). Production code never does this.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush
    if getattr(original, "_dids_audit", False):
        return

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):  # type: ignore[no-untyped-def]
        statements = original(self, style, tables, reset_sequences=reset_sequences,
                              allow_cascade=allow_cascade)
        if statements and "accounts_auditevent" in tables:
            statements = ["SET LOCAL session_replication_role = replica", *statements]
        return statements

    sql_flush._dids_audit = True  # type: ignore[attr-defined]
    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign]


_flush_past_the_audit_trigger()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The suite leaves no test database and no task message behind.

    Before pytest-django drops the test database, any session still connected to it (a
    killed worker's, a live server thread's) is ended, so the drop succeeds; and the test
    broker's queue and unacknowledged-message keys are deleted.
    """
    yield
    from django.conf import settings
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    if settings.CELERY_BROKER_URL.startswith("redis"):
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        try:
            kombu_keys = [*client.scan_iter("_kombu.binding.*"), "celery",
                          *settings.DIDS_TASK_QUEUES, "unacked",
                          "unacked_index", "unacked_mutex"]
            client.delete(*kombu_keys)
        except redis.RedisError:
            pass
        finally:
            client.close()


def verified_device(user: User):  # type: ignore[no-untyped-def]
    """The user's confirmed TOTP device, made if they have none (test personas)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Test app", confirmed=True)


def totp_code(device) -> str:  # type: ignore[no-untyped-def]
    """The code the device's app would show now."""
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture(autouse=True)
def _force_login_completes_the_second_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    """``client.force_login(user)`` signs in as the whole sign-in does: for users who need a
    second factor it also gives one (a confirmed TOTP device, verified in the session). Tests
    of the second factor itself sign in through the pages."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.selectors import second_factor_required

    original = Client.force_login

    def force_login(self: Client, user: User, backend: str | None = None) -> None:
        original(self, user, backend)
        if second_factor_required(user):
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = verified_device(user).persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)
