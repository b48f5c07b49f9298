"""A provider's API tokens: the list, making one (its plaintext shown once) and revoking one.
Submitters only make and revoke; viewers see the list."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.generic import FormView, TemplateView

from accounts.forms import ApiTokenCreateForm
from accounts.models import ApiToken, User
from accounts.services import api_token_create, api_token_revoke
from accounts.views import ProviderPageMixin
from dids_portal.lib.errors import DomainError
from dids_portal.lib.pages import BreadcrumbsMixin

TOKEN_BREADCRUMBS = (("Home", "accounts:provider-home"), ("API tokens", "accounts:token-list"))


class ApiTokenListView(ProviderPageMixin, BreadcrumbsMixin, TemplateView):
    template_name = "accounts/api_token_list.html"
    breadcrumbs = TOKEN_BREADCRUMBS[:1]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["tokens"] = list(
            ApiToken.objects.filter(organisation=self.organisation).select_related("user")
        )
        context["token_days"] = settings.DIDS_TOKEN_DAYS
        return context


class ApiTokenCreateView(ProviderPageMixin, BreadcrumbsMixin, FormView):
    template_name = "accounts/api_token_create.html"
    form_class = ApiTokenCreateForm
    breadcrumbs = TOKEN_BREADCRUMBS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.require_submitter()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.require_submitter()
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: ApiTokenCreateForm) -> HttpResponse:
        try:
            token, plaintext = api_token_create(
                actor=cast(User, self.request.user),
                organisation_code=self.organisation.code,
                name=form.cleaned_data["name"],
                request=self.request,
            )
        except DomainError as exc:
            form.add_error("name", str(exc))
            return self.form_invalid(form)
        # The plaintext is in this response only: it is never stored, so it cannot be shown again.
        response = render(
            self.request,
            "accounts/api_token_created.html",
            self.get_context_data(token=token, plaintext=plaintext),
        )
        response["Cache-Control"] = "no-store"
        return response


class ApiTokenRevokeView(ProviderPageMixin, BreadcrumbsMixin, TemplateView):
    template_name = "accounts/api_token_revoke.html"
    breadcrumbs = TOKEN_BREADCRUMBS

    def get_token(self) -> ApiToken:
        return get_object_or_404(
            ApiToken.objects.select_related("user"),
            pk=self.kwargs["pk"],
            organisation=self.organisation,
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = self.get_token()
        self.require_submitter()
        if token.revoked_at is not None:
            messages.info(request, f"The token “{token.name}” was already revoked.")
            return redirect("accounts:token-list")
        return self.render_to_response(self.get_context_data(token=token))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = self.get_token()
        self.require_submitter()
        try:
            api_token_revoke(actor=cast(User, request.user), token=token, request=request)
        except DomainError as exc:
            raise PermissionDenied(str(exc)) from exc
        messages.success(
            request,
            f"The token “{token.name}” has been revoked. Requests that use it are now refused.",
        )
        return redirect("accounts:token-list")
