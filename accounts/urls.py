from django.urls import path

from accounts import token_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
    path("sign-in/code/", views.SecondFactorVerifyView.as_view(), name="otp-verify"),
    path("account/second-factor/", views.SecondFactorSetupView.as_view(), name="otp-setup"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("organisation/", views.ChooseOrganisationView.as_view(), name="choose-organisation"),
    path("provider/", views.ProviderHomeView.as_view(), name="provider-home"),
    path("provider/api-tokens/", token_views.ApiTokenListView.as_view(), name="token-list"),
    path("provider/api-tokens/new/", token_views.ApiTokenCreateView.as_view(), name="token-create"),
    path(
        "provider/api-tokens/<int:pk>/revoke/",
        token_views.ApiTokenRevokeView.as_view(),
        name="token-revoke",
    ),
]
