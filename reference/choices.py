from django.db import models


class OrganisationType(models.TextChoices):
    NHS_TRUST = "nhs_trust", "NHS trust"
    FOUNDATION_TRUST = "foundation_trust", "NHS foundation trust"
    MENTAL_HEALTH_TRUST = "mental_health_trust", "NHS mental health trust"
    CARE_TRUST = "care_trust", "NHS care trust"
    INDEPENDENT_SECTOR = "independent_sector", "Independent sector or social enterprise provider"
    COMMUNITY_PROVIDER = "community_provider", "Community provider of NHS-funded imaging"
    GP_PRACTICE = "gp_practice", "GP practice"
    OTHER = "other", "Other organisation"
    DEFAULT = "default", "Default code (not applicable / not known)"


# The organisation types a data provision notice is served on: the providers that submit.
PROVIDER_TYPES = (
    OrganisationType.NHS_TRUST,
    OrganisationType.FOUNDATION_TRUST,
    OrganisationType.MENTAL_HEALTH_TRUST,
    OrganisationType.CARE_TRUST,
    OrganisationType.INDEPENDENT_SECTOR,
    OrganisationType.COMMUNITY_PROVIDER,
)


class Modality(models.TextChoices):
    CT = "CT", "CT"
    MRI = "MRI", "MRI"
    US = "US", "Ultrasound"
    XRAY = "XRAY", "Plain X-ray"
    FLUORO = "FLUORO", "Fluoroscopy"
    NM = "NM", "Nuclear medicine"
    PET = "PET", "PET"
    SPECT = "SPECT", "SPECT"
    PHOTO = "PHOTO", "Medical photography"
    OTHER = "OTHER", "Other/unmapped"
