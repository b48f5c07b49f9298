from django.db import models


class Role(models.TextChoices):
    PROVIDER_SUBMITTER = "provider_submitter", "Provider submitter"
    PROVIDER_VIEWER = "provider_viewer", "Provider viewer"
    NATIONAL_ANALYST = "national_analyst", "National analyst"
    REFERENCE_ADMIN = "reference_admin", "Reference admin"


PROVIDER_ROLES = (Role.PROVIDER_SUBMITTER, Role.PROVIDER_VIEWER)
NATIONAL_ROLES = (Role.NATIONAL_ANALYST, Role.REFERENCE_ADMIN)


class AuditAction(models.TextChoices):
    """What an audit event records. ``audit_record`` accepts any short string; these are the
    ones the portal writes, listed so that searches and the docs have one vocabulary."""

    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    SIGN_OUT = "sign_out", "Signed out"
    SIGN_IN_LIMITED = "sign_in_limited", "Sign-in limited (failures from many addresses)"
    OTP_DEVICE_ADDED = "otp_device_added", "Second factor set up"
    OTP_DEVICE_REMOVED = "otp_device_removed", "Second factor removed"
    OTP_VERIFY_FAILED = "otp_verify_failed", "Second factor code refused"
    ROLE_GRANTED = "role_granted", "Role granted"
    ROLE_CHANGED = "role_changed", "Role changed"
    ROLE_REVOKED = "role_revoked", "Role revoked"
    API_TOKEN_CREATED = "api_token_created", "API token created"
    API_TOKEN_REVOKED = "api_token_revoked", "API token revoked"
    SUBMISSION_UPLOADED = "submission_uploaded", "File uploaded"
    SUBMISSION_VALIDATED = "submission_validated", "Validation result"
    LIVE_VERSION_CHANGED = "live_version_changed", "Live version changed"
    SUBMISSION_REPROCESSED = "submission_reprocessed", "Queued for processing again"
    RECORDS_ARCHIVED = "records_archived", "Superseded records archived to Parquet"
    PATIENT_DATA_DOWNLOADED = "patient_data_downloaded", "Patient data downloaded"
    REFERENCE_CHANGED = "reference_changed", "Reference data changed"
    PERIOD_CUT_OFF = "period_cut_off", "Period cut off"
    PERIOD_REOPENED = "period_reopened", "Period reopened"
    PERIOD_REOPENING_ENDED = "period_reopening_ended", "Reopening ended early"
    EXPORT_CREATED = "export_created", "Export made"
    AUDIT_EXPORTED = "audit_exported", "Audit trail exported"
