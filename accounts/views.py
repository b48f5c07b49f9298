"""Accounts pages: sign in and out, password, the active organisation, home pages (API tokens:
``accounts.token_views``).

The active organisation of a provider user lives in the session. Pages read it with
``session_organisation_code(request)`` (or ``session_organisation(request)`` for the row) and
provider pages get it, checked, from ``ProviderPageMixin``.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import qrcode
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import FormView, TemplateView
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathImage

from accounts.forms import (
    OrganisationChoiceForm,
    PortalPasswordChangeForm,
    SecondFactorForm,
    SignInForm,
)
from accounts.middleware import SESSION_OTP_ENROLLED_KEY
from accounts.selectors import (
    can_submit_for,
    is_national,
    is_reference_admin,
    provider_organisation_codes,
    provider_organisations,
    second_factor_required,
)
from accounts.services import (
    second_factor_failure_record,
    totp_device_confirm,
    totp_device_for_setup,
)
from dids_portal.lib.pages import BreadcrumbsMixin

if TYPE_CHECKING:  # accounts never imports reference: the organisations come by the memberships
    from reference.models import Organisation

SESSION_ORGANISATION_KEY = "dids_active_organisation"
SIGN_IN_URL = reverse_lazy("accounts:sign-in")


# The active organisation ---------------------------------------------------------------------


def session_organisation_code(request: HttpRequest) -> str | None:
    """The provider organisation the signed-in user is working for, or None.

    It is the one chosen and kept in the session, while the user still belongs to it; a user
    with a single provider organisation always works for that one.
    """
    codes = provider_organisation_codes(request.user)
    chosen = request.session.get(SESSION_ORGANISATION_KEY)
    if chosen in codes:
        return chosen
    if len(codes) == 1:
        return next(iter(codes))
    return None


def session_organisation_set(request: HttpRequest, code: str) -> None:
    """Make ``code`` the active organisation; the user must hold a provider role there."""
    if code not in provider_organisation_codes(request.user):
        raise PermissionDenied("You do not belong to this organisation.")
    request.session[SESSION_ORGANISATION_KEY] = code
    request._dids_organisation = None  # type: ignore[attr-defined]


def session_organisation(request: HttpRequest) -> Organisation | None:
    """The active organisation's row (cached for the request)."""
    cached = getattr(request, "_dids_organisation", None)
    code = session_organisation_code(request)
    if code is None:
        return None
    if cached is None or cached.code != code:
        cached = next(o for o in provider_organisations(request.user) if o.code == code)
        request._dids_organisation = cached  # type: ignore[attr-defined]
    return cached


class SignedInMixin(AccessMixin):
    """Send anonymous users to the sign-in page, coming back here afterwards."""

    login_url = SIGN_IN_URL

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class ProviderPageMixin(SignedInMixin):
    """A page about the active provider organisation.

    Users with no provider role get 404; users with several organisations and none chosen are
    sent to choose one first. The view then has ``organisation`` and ``can_submit`` (whether
    the user is a provider submitter of it), and so has its template.
    """

    organisation: Organisation
    can_submit: bool

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not provider_organisation_codes(request.user):
            raise Http404("No provider organisation.")
        organisation = session_organisation(request)
        if organisation is None:
            choose = reverse("accounts:choose-organisation")
            return redirect(f"{choose}?{urlencode({'next': request.get_full_path()})}")
        self.organisation = organisation
        self.can_submit = can_submit_for(request.user, organisation.code)
        return super().dispatch(request, *args, **kwargs)

    def require_submitter(self) -> None:
        if not self.can_submit:
            raise PermissionDenied("Only provider submitters of this organisation can do this.")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(organisation=self.organisation, can_submit=self.can_submit)
        return context


# Signing in and out --------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """Email and password; then, for those who need or have one, the second factor."""

    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("accounts:home")  # type: ignore[assignment]  # django-stubs: a lazy URL is accepted

    def get_success_url(self) -> str:
        target = super().get_success_url()
        user = self.request.user
        # After login() the request's user is the plain model (not django-otp's wrapper).
        verified = getattr(user, "is_verified", lambda: False)()
        if not user.is_authenticated or verified:
            return target
        has_device = user_has_device(user)
        if not (has_device or second_factor_required(user)):
            return target
        name = "accounts:otp-verify" if has_device else "accounts:otp-setup"
        return f"{reverse(name)}?{urlencode({'next': target})}"


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: redirect() takes a bare word ("abc") for a URL name (a 500).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("accounts:home")


class SecondFactorVerifyView(SignedInMixin, FormView):
    """The second step of signing in: a code from the user's TOTP device."""

    template_name = "accounts/otp_verify.html"
    form_class = SecondFactorForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            if request.user.is_verified():  # type: ignore[attr-defined]  # added by django_otp's OTPMiddleware
                return redirect(_safe_next(request))
            self.device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
            if self.device is None:
                return redirect(f"{reverse('accounts:otp-setup')}?"
                                f"{urlencode({'next': _safe_next(request)})}")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "device": self.device}

    def form_valid(self, form: SecondFactorForm) -> HttpResponse:
        otp_login(self.request, self.device)
        return HttpResponseRedirect(_safe_next(self.request))

    def form_invalid(self, form: SecondFactorForm) -> HttpResponse:
        second_factor_failure_record(user=self.request.user, request=self.request)
        return super().form_invalid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "next": _safe_next(self.request)}


class SecondFactorSetupView(SignedInMixin, FormView):
    """Set up a TOTP device: a QR code (SVG, drawn here) and the secret as text, then a code.

    Only while the user has no confirmed device: replacing one is for an administrator, so a
    stolen password alone cannot add a device.
    """

    template_name = "accounts/otp_setup.html"
    form_class = SecondFactorForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
                verify = reverse("accounts:otp-verify")
                return redirect(f"{verify}?{urlencode({'next': _safe_next(request)})}")
            self.device = totp_device_for_setup(user=request.user)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "device": self.device}

    def form_valid(self, form: SecondFactorForm) -> HttpResponse:
        totp_device_confirm(device=self.device, request=self.request)
        otp_login(self.request, self.device)
        self.request.session[SESSION_OTP_ENROLLED_KEY] = True
        messages.success(self.request, "Your second factor is set up. You will need a code from "
                                       "your app each time you sign in.")
        return HttpResponseRedirect(_safe_next(self.request))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        secret = base64.b32encode(self.device.bin_key).decode()
        image = qrcode.make(self.device.config_url, image_factory=SvgPathImage, box_size=8)
        context.update(
            next=_safe_next(self.request),
            secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
            qr_svg=mark_safe(image.to_string(encoding="unicode")),  # noqa: S308 - drawn here
            required=second_factor_required(self.request.user),
        )
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        response["Cache-Control"] = "no-store"  # the page shows the secret
        return response


class SignOutView(auth_views.LogoutView):
    """Sign out (POST only, as Django requires) and come back to the sign-in page."""

    next_page = SIGN_IN_URL  # type: ignore[assignment]  # django-stubs: a lazy URL is accepted

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have signed out.")
        return response


class PasswordChangeView(SignedInMixin, BreadcrumbsMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = PortalPasswordChangeForm
    success_url = reverse_lazy("accounts:home")
    breadcrumbs = (("Home", "accounts:home"),)

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password has been changed.")
        return response


class ChooseOrganisationView(SignedInMixin, FormView):
    template_name = "accounts/choose_organisation.html"
    form_class = OrganisationChoiceForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not provider_organisation_codes(request.user):
            raise Http404("No provider organisation.")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["organisations"] = provider_organisations(self.request.user)
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        return {"organisation": self.request.session.get(SESSION_ORGANISATION_KEY)}

    def form_valid(self, form: OrganisationChoiceForm) -> HttpResponse:
        session_organisation_set(self.request, form.cleaned_data["organisation"])
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self) -> str:
        target = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return target
        return reverse("accounts:provider-home")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["next"] = self.request.GET.get("next", "")
        return context


# Home pages ----------------------------------------------------------------------------------


class HomeView(SignedInMixin, View):
    """Send each user to the home page of their role."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if provider_organisation_codes(request.user):
            return redirect("accounts:provider-home")
        if is_national(request.user):
            return redirect("national:home")
        if is_reference_admin(request.user) and request.user.is_staff:
            return redirect("admin:index")
        return render(request, "accounts/no_role.html")


class ProviderHomeView(ProviderPageMixin, TemplateView):
    template_name = "accounts/provider_home.html"
