"""Counts kept with a version when it is processed, so that no page counts its records."""

from __future__ import annotations

from django.db import models

from submissions.models.versions import Submission


class VersionStatistics(models.Model):
    """A stored version's records summed up (``submissions.tally``): what the statistics of a
    month not yet cut off add up over its live versions."""

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, primary_key=True,
                                      related_name="statistics")
    groups = models.JSONField(default=list, blank=True,
                              help_text="[site code, patient source setting, modality, records]")
    waits = models.JSONField(default=dict, blank=True,
                             help_text="Wait name -> modality -> {days: records}.")

    class Meta:
        ordering = ["submission"]
        verbose_name_plural = "version statistics"

    def __str__(self) -> str:
        return f"statistics of {self.submission_id}"
