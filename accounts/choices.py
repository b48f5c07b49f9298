from django.db import models


class Role(models.TextChoices):
    PROVIDER_SUBMITTER = "provider_submitter", "Provider submitter"
    PROVIDER_VIEWER = "provider_viewer", "Provider viewer"
    NATIONAL_ANALYST = "national_analyst", "National analyst"
    REFERENCE_ADMIN = "reference_admin", "Reference admin"


PROVIDER_ROLES = (Role.PROVIDER_SUBMITTER, Role.PROVIDER_VIEWER)
NATIONAL_ROLES = (Role.NATIONAL_ANALYST, Role.REFERENCE_ADMIN)
