"""Recompute the audit trail's hash chain and report the first altered or removed event."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.audit import audit_chain_verify


class Command(BaseCommand):
    help = ("Recompute the audit trail's hash chain. Exit 0 when intact; exit 1 naming the "
            "first event that was altered, removed or inserted out of order.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_chain_verify()
        if result.ok:
            self.stdout.write(f"Audit trail intact: {result.checked} events, chain verified.")
            return
        raise CommandError(f"Audit trail broken at event #{result.seq}: {result.problem}",
                           returncode=1)
