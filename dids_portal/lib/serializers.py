"""A base serializer that runs the model's own validation (DRF does not call full_clean), and
keeps the primary key fixed once an object exists."""

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
        if self.instance is not None:
            self._refuse_key_change(attrs)
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

    def _refuse_key_change(self, attrs: dict[str, Any]) -> None:
        """The primary key is read-only on update: saving a new key would create a second
        object beside this one (Django saves by primary key), not rename it."""
        key = self.Meta.model._meta.pk
        sent = attrs.get(key.name, getattr(self, "initial_data", {}).get(key.name))
        if sent is None or str(sent) == str(self.instance.pk):
            return
        label = str(key.verbose_name)
        raise serializers.ValidationError({key.name: [
            f"The {label} is the key of this {self.Meta.model._meta.verbose_name} and cannot be "
            f"changed. Create a new one, and end-date or close this one, instead."]})

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
