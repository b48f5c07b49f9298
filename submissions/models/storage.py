"""What the storage of records did: each month's partition rewritten to give space back."""

from __future__ import annotations

from django.db import models


class PartitionCompaction(models.Model):
    """One rewrite (``VACUUM FULL``) of a month's records partition (``submissions.compaction``),
    or an attempt that gave up waiting for its lock."""

    month = models.DateField(help_text="The activity month whose partition was rewritten.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    archived_records = models.BigIntegerField(
        help_text="Records archived out of the partition since it was last rewritten.")
    held_records = models.BigIntegerField(
        help_text="Records it held then: those archived and those of versions still in it.")
    bytes_before = models.BigIntegerField()
    bytes_after = models.BigIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=[("compacted", "Compacted"),
                                                       ("lock_timeout", "Lock not granted")])

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["month", "-started_at"], name="compaction_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.outcome} at {self.started_at:%Y-%m-%d %H:%M}"
