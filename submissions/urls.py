from django.urls import path

from submissions import views

app_name = "submissions"

urlpatterns = [
    path("rules/", views.RulesView.as_view(), name="rules"),
    # The provider home: the same URL as accounts:provider-home, which it extends with the
    # organisation's months. The site URLconf includes these patterns before the accounts ones.
    path("provider/", views.ProviderHomeView.as_view(), name="provider-home"),
    path("submissions/", views.SubmissionListView.as_view(), name="list"),
    path("submissions/upload/", views.UploadView.as_view(), name="upload"),
    path("submissions/<int:pk>/", views.SubmissionDetailView.as_view(), name="detail"),
    path("submissions/<int:pk>/findings/", views.SubmissionFindingsView.as_view(), name="findings"),
    path("submissions/<int:pk>/findings.csv", views.FindingsCsvView.as_view(), name="findings-csv"),
    path("submissions/<int:pk>/annotated.csv", views.AnnotatedCsvView.as_view(),
         name="annotated-csv"),
    path("submissions/<int:pk>/reprocess/", views.ReprocessView.as_view(), name="reprocess"),
    path("submissions/<str:month>/", views.MonthHistoryView.as_view(), name="month"),
    path("submissions/<str:month>/diff/", views.VersionDiffView.as_view(), name="diff"),
]
