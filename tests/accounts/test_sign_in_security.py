"""Strong sign-in: the second factor, lockout by user and address, session limits, audit."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import AuditAction
from accounts.middleware import SESSION_STARTED_KEY
from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD, totp_code, verified_device

pytestmark = pytest.mark.django_db

SIGN_IN = reverse("accounts:sign-in")


def _password(client: Client, user: User, password: str = PASSWORD, ip: str = "192.0.2.10",
              **extra: str):
    return client.post(SIGN_IN, {"username": user.email, "password": password, **extra},
                       REMOTE_ADDR=ip)


# The second factor ---------------------------------------------------------------------------


def test_a_national_analyst_without_a_device_is_sent_to_set_one_up(client: Client,
                                                                   analyst: User) -> None:
    response = _password(client, analyst)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp-setup"))


def test_the_setup_page_shows_a_server_drawn_svg_qr_code_and_the_secret(client: Client,
                                                                        analyst: User) -> None:
    _password(client, analyst)
    response = client.get(reverse("accounts:otp-setup"))
    html = response.content.decode()
    device = TOTPDevice.objects.get(user=analyst)
    assert response.status_code == 200
    assert "<svg" in html and "<script" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    import base64

    assert base64.b32encode(device.bin_key).decode()[:4] in html
    assert response["Cache-Control"] == "no-store"


def test_setting_up_a_device_verifies_the_session_and_is_audited(client: Client,
                                                                 analyst: User) -> None:
    _password(client, analyst)
    client.get(reverse("accounts:otp-setup"))
    device = TOTPDevice.objects.get(user=analyst)
    response = client.post(reverse("accounts:otp-setup"), {"otp_token": totp_code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("national:home")).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.OTP_DEVICE_ADDED,
                                     actor_id=analyst.pk).exists()


def test_setting_up_a_device_audits_the_address_it_came_from(client: Client,
                                                             analyst: User) -> None:
    _password(client, analyst, ip="192.0.2.53")
    client.get(reverse("accounts:otp-setup"), REMOTE_ADDR="192.0.2.53")
    device = TOTPDevice.objects.get(user=analyst)
    client.post(reverse("accounts:otp-setup"), {"otp_token": totp_code(device)},
                REMOTE_ADDR="192.0.2.53")
    event = AuditEvent.objects.get(action=AuditAction.OTP_DEVICE_ADDED)
    assert event.ip_address == "192.0.2.53" and event.target == f"user:{analyst.pk}"


def test_a_national_analyst_with_a_device_must_give_its_code(client: Client,
                                                            analyst: User) -> None:
    device = verified_device(analyst)
    response = _password(client, analyst)
    assert response.url.startswith(reverse("accounts:otp-verify"))
    # Until the code is given, every page sends them back to the code step.
    blocked = client.get(reverse("national:home"))
    assert blocked.status_code == 302 and blocked.url.startswith(reverse("accounts:otp-verify"))
    assert client.get("/api/submissions/").status_code == 403
    response = client.post(reverse("accounts:otp-verify"),
                           {"otp_token": totp_code(device), "next": "/national/"})
    assert response.status_code == 302 and response.url == "/national/"
    assert client.get("/national/").status_code == 200


def test_a_wrong_code_is_refused_and_audited(client: Client, analyst: User) -> None:
    verified_device(analyst)
    _password(client, analyst)
    response = client.post(reverse("accounts:otp-verify"), {"otp_token": "000000"})
    assert response.status_code == 200
    assert "nhsuk-error-summary" in response.content.decode()
    assert client.get("/national/").status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.OTP_VERIFY_FAILED).exists()


def test_a_device_cannot_be_added_with_only_a_password(client: Client, analyst: User) -> None:
    verified_device(analyst)
    _password(client, analyst)
    response = client.get(reverse("accounts:otp-setup"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:otp-verify"))


@pytest.mark.parametrize("persona", ["reference_admin", "staff"])
def test_reference_admins_and_staff_need_a_second_factor(client: Client, request, persona: str,
                                                         submitter: User) -> None:
    if persona == "staff":
        user = submitter
        user.is_staff = True
        user.save()
    else:
        user = request.getfixturevalue(persona)
    response = _password(client, user)
    assert response.url.startswith(reverse("accounts:otp-setup"))


def test_a_provider_signs_in_with_a_password_alone(client: Client, submitter: User) -> None:
    response = _password(client, submitter)
    assert response.url == reverse("accounts:home")
    assert client.get(reverse("accounts:provider-home")).status_code == 200


def test_a_provider_who_enrolled_must_give_a_code_next_time(client: Client,
                                                            submitter: User) -> None:
    _password(client, submitter)
    client.get(reverse("accounts:otp-setup"))
    device = TOTPDevice.objects.get(user=submitter)
    client.post(reverse("accounts:otp-setup"), {"otp_token": totp_code(device)})
    client.post(reverse("accounts:sign-out"))
    response = _password(client, submitter)
    assert response.url.startswith(reverse("accounts:otp-verify"))
    assert client.get(reverse("accounts:provider-home")).status_code == 302


def test_the_admin_site_requires_a_verified_second_factor(client: Client, analyst: User) -> None:
    from django.contrib import admin
    from django_otp.admin import OTPAdminSite

    assert isinstance(admin.site, OTPAdminSite)
    client.post(SIGN_IN, {"username": analyst.email, "password": PASSWORD})
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:otp-setup"))
    # And the admin site itself refuses a staff user whose session has no verified device.
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    analyst.is_verified = lambda: False  # type: ignore[attr-defined]
    request.user = analyst
    assert not admin.site.has_permission(request)
    analyst.is_verified = lambda: True  # type: ignore[attr-defined]
    assert admin.site.has_permission(request)


# Lockout -----------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_that_user_from_that_address(client: Client,
                                                               submitter: User) -> None:
    for _ in range(5):
        _password(client, submitter, "wrong password", ip="198.51.100.7")
    locked = _password(client, submitter, ip="198.51.100.7")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_stranger_elsewhere_cannot_lock_a_user_out(client: Client, submitter: User) -> None:
    for _ in range(6):
        _password(client, submitter, "wrong password", ip="203.0.113.66")
    response = _password(Client(), submitter, ip="192.0.2.10")
    assert response.status_code == 302 and response.url == reverse("accounts:home")


def test_the_lock_lifts_after_the_cool_off_time(client: Client, submitter: User,
                                                settings) -> None:
    for _ in range(5):
        _password(client, submitter, "wrong password", ip="198.51.100.7")
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = _password(Client(), submitter, ip="198.51.100.7")
    assert response.status_code == 302


def test_lockout_ignores_the_letter_case_of_the_email(client: Client, submitter: User) -> None:
    for n in range(5):
        email = submitter.email.upper() if n % 2 else submitter.email
        client.post(SIGN_IN, {"username": email, "password": "wrong"}, REMOTE_ADDR="198.51.100.7")
    assert _password(client, submitter, ip="198.51.100.7").status_code == 429


# Sessions ----------------------------------------------------------------------------------


def test_signing_in_gives_a_new_session_id(client: Client, submitter: User) -> None:
    client.get(SIGN_IN)
    session = client.session
    session["before"] = True
    session.save()
    before = session.session_key
    _password(client, submitter)
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


def test_signing_out_deletes_the_session_on_the_server(client: Client, submitter: User) -> None:
    _password(client, submitter)
    key = client.session.session_key
    cookie = client.cookies["sessionid"].value
    client.post(reverse("accounts:sign-out"))
    assert not Session.objects.filter(session_key=key).exists()
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get(reverse("accounts:provider-home")).status_code == 302


def test_sessions_end_after_thirty_idle_minutes(client: Client, submitter: User,
                                                settings) -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    _password(client, submitter)
    key = client.session.session_key
    client.get(reverse("accounts:provider-home"))
    expiry = Session.objects.get(session_key=key).expire_date
    assert timedelta(minutes=29) < expiry - timezone.now() <= timedelta(minutes=30)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("accounts:provider-home")).status_code == 302


def test_sessions_end_twelve_hours_after_sign_in_however_active(client: Client,
                                                                submitter: User) -> None:
    _password(client, submitter)
    session = client.session
    session[SESSION_STARTED_KEY] = int(time.time()) - 12 * 3600 - 1
    session.save()
    key = session.session_key
    response = client.get(reverse("accounts:provider-home"))
    assert response.status_code == 302 and response.url.startswith(SIGN_IN)
    assert not Session.objects.filter(session_key=key).exists()


# Audit -------------------------------------------------------------------------------------


def test_sign_in_success_and_failure_are_audited_with_the_address(client: Client,
                                                                  submitter: User) -> None:
    _password(client, submitter, "wrong password", ip="198.51.100.9")
    _password(client, submitter, ip="198.51.100.9")
    failed = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    signed_in = AuditEvent.objects.get(action=AuditAction.SIGN_IN)
    assert failed.after == {"email": submitter.email} and failed.ip_address == "198.51.100.9"
    assert signed_in.actor_id == submitter.pk and signed_in.ip_address == "198.51.100.9"
    assert "wrong password" not in str(failed.after)


def test_removing_a_second_factor_is_audited(analyst: User) -> None:
    device = verified_device(analyst)
    device.delete()
    event = AuditEvent.objects.get(action=AuditAction.OTP_DEVICE_REMOVED)
    assert event.target == f"user:{analyst.pk}"


# Password guessing spread over many addresses ----------------------------------------------

STRANGERS = ("203.0.113.1", "203.0.113.2", "203.0.113.3")


def _guessed_from_three_addresses(user: User) -> None:
    for ip in STRANGERS:
        _password(Client(), user, "wrong password", ip=ip)


def test_failures_from_three_addresses_limit_the_account_from_any_new_address(
        submitter: User) -> None:
    _guessed_from_three_addresses(submitter)
    client = Client()
    response = _password(client, submitter, ip="198.51.100.200")  # the right password
    assert response.status_code == 200
    assert "only a few times a minute" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_owner_gets_in_from_a_new_address_after_waiting_a_minute(submitter: User) -> None:
    _guessed_from_three_addresses(submitter)
    for _ in range(3):  # refused tries, even many, do not extend the limit
        assert _password(Client(), submitter, ip="198.51.100.200").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = _password(Client(), submitter, ip="198.51.100.200")
    assert response.status_code == 302 and response.url == reverse("accounts:home")


def test_the_owner_at_an_address_they_signed_in_from_is_not_limited(submitter: User) -> None:
    owner = Client()
    _password(owner, submitter, ip="192.0.2.10")
    owner.post(reverse("accounts:sign-out"), REMOTE_ADDR="192.0.2.10")
    _guessed_from_three_addresses(submitter)
    response = _password(Client(), submitter, ip="192.0.2.10")
    assert response.status_code == 302 and response.url == reverse("accounts:home")


def test_failures_from_two_addresses_do_not_limit_the_account(submitter: User) -> None:
    for ip in STRANGERS[:2] * 2:
        _password(Client(), submitter, "wrong password", ip=ip)
    response = _password(Client(), submitter, ip="198.51.100.200")
    assert response.status_code == 302


def test_the_owner_and_the_audit_trail_are_told_once_when_the_limit_starts(
        submitter: User, mailoutbox) -> None:
    _guessed_from_three_addresses(submitter)
    _password(Client(), submitter, "wrong password", ip="203.0.113.4")
    events = AuditEvent.objects.filter(action=AuditAction.SIGN_IN_LIMITED)
    assert events.count() == 1
    assert events.get().after["addresses"] == 3 and events.get().target == f"user:{submitter.pk}"
    assert [m.to for m in mailoutbox] == [[submitter.email]]
    assert "3 different addresses" in mailoutbox[0].body


def test_an_unknown_email_guessed_from_three_addresses_is_limited_without_an_email(
        db: None, mailoutbox) -> None:
    for ip in STRANGERS:
        Client().post(SIGN_IN, {"username": "nobody@example.org", "password": "x"},
                      REMOTE_ADDR=ip)
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_LIMITED).count() == 1
    assert mailoutbox == []
