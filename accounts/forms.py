"""Forms of the accounts pages, styled with the NHS design system."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm

from accounts.services import LIMITED_MESSAGE
from dids_portal.lib.pages import NhsFormMixin

if TYPE_CHECKING:  # accounts never imports reference: the organisations come by the memberships
    from reference.models import Organisation


class SignInForm(NhsFormMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": "Enter a correct email address and password.",
        "inactive": "This account is inactive. Ask your organisation's DIDS lead to reactivate it.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.label = "Email address"
        username.widget = forms.EmailInput(
            attrs={
                "autocomplete": "email",
                "autofocus": True,
                "spellcheck": "false",
                "class": "nhsuk-input",
            }
        )
        username.error_messages["required"] = "Enter your email address"
        self.fields["password"].error_messages["required"] = "Enter your password"
        self.fields["password"].widget.attrs["class"] = "nhsuk-input"
        self._describe_fields()

    def get_invalid_login_error(self) -> forms.ValidationError:
        if getattr(self.request, "dids_sign_in_limited", False):
            return forms.ValidationError(LIMITED_MESSAGE, code="limited")
        return super().get_invalid_login_error()


class PortalPasswordChangeForm(NhsFormMixin, PasswordChangeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Current password"
        self.fields["old_password"].error_messages["required"] = "Enter your current password"
        self.fields["new_password1"].error_messages["required"] = "Enter a new password"
        self.fields["new_password2"].label = "Confirm new password"
        self.fields["new_password2"].error_messages["required"] = "Confirm your new password"
        # Django's help text is an HTML list; the hint shows a plain sentence instead.
        self.fields["new_password1"].help_text = (
            "At least 12 characters, not a common password, not only numbers and not like your "
            "email address."
        )
        self._describe_fields()


class OrganisationChoiceForm(NhsFormMixin, forms.Form):
    organisation = forms.ChoiceField(
        label="Which organisation are you working for?",
        widget=forms.RadioSelect,
        error_messages={"required": "Select the organisation you are working for"},
    )

    def __init__(self, *args: Any, organisations: list[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["organisation"]).choices = [
            (o.code, f"{o.name} ({o.code})") for o in organisations
        ]


class ApiTokenCreateForm(NhsFormMixin, forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="Say which system uses it, for example: Radiology information system (live).",
        error_messages={
            "required": "Enter a name for the token",
            "max_length": "Token name must be 100 characters or fewer",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class SecondFactorForm(NhsFormMixin, forms.Form):
    """A six-digit code from the user's authenticator app, checked against one TOTP device."""

    otp_token = forms.RegexField(
        label="Security code",
        regex=r"^\s*\d{6}\s*$",
        help_text="The 6-digit code your authenticator app shows now.",
        error_messages={"required": "Enter the 6-digit security code",
                        "invalid": "Enter the 6 digits your authenticator app shows"},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, device: Any, **kwargs: Any) -> None:
        self.device = device
        super().__init__(*args, **kwargs)

    def clean_otp_token(self) -> str:
        token = self.cleaned_data["otp_token"].strip()
        allowed, _ = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError("Too many wrong codes. Wait a minute and try again.")
        if not self.device.verify_token(token):
            raise forms.ValidationError("The security code is not right. Enter the code your "
                                        "app shows now.")
        return token
