"""A base serializer that runs the model's own validation (DRF does not call full_clean)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


class FullCleanModelSerializer(serializers.ModelSerializer):
    change_reason = serializers.CharField(
        write_only=True, required=False, max_length=100,
        help_text="Why this change is made; kept in the object's history.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model_attrs = {k: v for k, v in attrs.items() if k != "change_reason"}
        instance = self.instance or self.Meta.model()
        if self.instance is not None:
            # Validate a copy: the real instance changes only in save().
            instance = self.Meta.model.objects.get(pk=self.instance.pk)
        for name, value in model_attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean(validate_unique=self.instance is None)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs

    def _with_history(self, instance: Any, reason: str | None) -> Any:
        request = self.context.get("request")
        instance._history_user = getattr(request, "user", None)
        instance._change_reason = reason or "Changed through the API"
        return instance

    def create(self, validated_data: dict[str, Any]) -> Any:
        reason = validated_data.pop("change_reason", None)
        instance = self._with_history(self.Meta.model(**validated_data), reason)
        instance.save()
        return instance

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        reason = validated_data.pop("change_reason", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        self._with_history(instance, reason).save()
        return instance
