from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Submissions"

    def ready(self) -> None:
        # Register the tasks, which services queue by name (see dids_portal.lib.tasks).
        from submissions import tasks  # noqa: F401
