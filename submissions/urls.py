from django.urls import path

from submissions import views

app_name = "submissions"

urlpatterns = [
    path("rules/", views.RulesView.as_view(), name="rules"),
]
