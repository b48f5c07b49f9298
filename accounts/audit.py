"""The audit trail: an append-only chain of events, each hashed over its content and the
previous event's hash, and the walk that verifies the chain.

Its own module, below services and selectors: both use it, and it uses only the models.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditEvent
from dids_portal.lib.logging import redact

GENESIS_HASH = "0" * 64
# Any 64-bit number: the key of the PostgreSQL advisory lock that keeps the hash chain linear.
AUDIT_CHAIN_LOCK = 0x44494453_41554454  # "DIDS" "AUDT"


def scrub(value: Any) -> Any:
    """JSON-ready, with every NHS-number-like run of digits redacted, keys included."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {redact(str(k)): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [scrub(v) for v in value]
    if isinstance(value, bool | int | float):
        return value if redact(str(value)) == str(value) else "[NHS number]"
    return redact(str(value))


def audit_event_hash(*, seq: int, occurred_at: datetime, actor_id: int | None, actor_email: str,
                     organisation_code: str, ip_address: str | None, action: str, target: str,
                     before: Any, after: Any, prev_hash: str) -> str:
    """SHA-256 over the event's content and the previous event's hash (canonical JSON)."""
    content = {
        "seq": seq, "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "actor_id": actor_id, "actor_email": actor_email, "organisation_code": organisation_code,
        "ip_address": ip_address, "action": action, "target": target,
        "before": before, "after": after, "prev_hash": prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_ip(request: Any) -> str | None:
    """The client address of a request: REMOTE_ADDR (a proxy in front must set it)."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR") or None
    return address if address and len(address) <= 45 else None


def audit_record(*, actor: Any, action: str, organisation_code: str | None = None,
                 target: str = "", before: Any = None, after: Any = None,
                 request: Any = None) -> AuditEvent:
    """Append one event to the audit trail, chained to the previous one.

    Call it inside the transaction of the change it records, so that the event commits or
    rolls back with it. ``before``/``after`` are small JSON-able dicts of what changed; NHS
    numbers are redacted from them whatever the caller passes. ``actor`` may be a user, None
    (the system, or an operator at the command line) or an anonymous user.
    """
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    actor_email = str(getattr(actor, "email", "") or "") if actor_id else ""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # one writer of the chain at a time
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        fields: dict[str, Any] = {
            "seq": seq, "occurred_at": timezone.now(), "actor_id": actor_id,
            "actor_email": actor_email[:254], "organisation_code": (organisation_code or "")[:12],
            "ip_address": request_ip(request), "action": action[:64],
            "target": redact(str(target or ""))[:255],
            "before": scrub(before), "after": scrub(after), "prev_hash": prev_hash,
        }
        # What the hash covers is what the database gives back: JSON round-tripped.
        fields["before"] = json.loads(json.dumps(fields["before"], default=str))
        fields["after"] = json.loads(json.dumps(fields["after"], default=str))
        return AuditEvent.objects.create(**fields, hash=audit_event_hash(**fields))



@dataclass(frozen=True)
class AuditChainResult:
    ok: bool
    checked: int
    seq: int | None = None
    problem: str = ""


def audit_chain_verify(*, batch: int = 5000) -> AuditChainResult:
    """Walk the audit trail in order, recomputing each hash; stop at the first break."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    fields = ("seq", "occurred_at", "actor_id", "actor_email", "organisation_code",
              "ip_address", "action", "target", "before", "after", "prev_hash")
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch):
        if event.seq != expected_seq:
            return AuditChainResult(False, checked, expected_seq,
                                    f"event #{expected_seq} is missing (next found is #{event.seq})")
        if event.prev_hash != prev_hash:
            return AuditChainResult(False, checked, event.seq,
                                    "its link to the previous event does not match (a previous "
                                    "event was removed or replaced)")
        recomputed = audit_event_hash(**{f: getattr(event, f) for f in fields})
        if recomputed != event.hash:
            return AuditChainResult(False, checked, event.seq,
                                    "its content does not match its hash (the row was altered)")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    return AuditChainResult(True, checked)
