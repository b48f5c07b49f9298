from __future__ import annotations

from rest_framework import serializers

from accounts.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["seq", "occurred_at", "actor_id", "actor_email", "organisation_code",
                  "ip_address", "action", "target", "before", "after", "prev_hash", "hash"]
        read_only_fields = fields
