"""Findings and the validation report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .masking import mask_nhs_number, mask_text


@dataclass(frozen=True)
class Finding:
    line: int | None
    item: str | None
    rule: str
    severity: str
    message: str
    value: str | None = None
    expected: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "item": self.item,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "value": self.value,
            "expected": self.expected,
        }


def make_finding(
    *, line: int | None, item: str | None, rule: str, severity: str, message: str,
    value: Any = None, expected: str | None = None,
) -> Finding:
    """Build a finding with NHS numbers masked in the value and the message."""
    text = _text(value)
    if item == "nhs_number":
        text = mask_nhs_number(text)
    return Finding(
        line=line, item=item, rule=rule, severity=severity,
        message=mask_text(message) or "", value=mask_text(text), expected=expected,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@dataclass
class Report:
    dataset_version: str | None = None
    rows: int = 0
    accepted_rows: int = 0
    rejected_rows: int = 0
    file_rejected: bool = False
    counts_by_rule: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    findings_truncated: bool = False
    reference_release: str | None = None
    ruleset_version: str | None = None
    # Per scored item: counts and share (see scoring.py), and the score; accepted records by
    # modality then site (only when accepted rows are handed over). Not in to_dict().
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)
    quality_score: float | None = None
    record_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_version": self.dataset_version,
            "rows": self.rows,
            "accepted_rows": self.accepted_rows,
            "rejected_rows": self.rejected_rows,
            "file_rejected": self.file_rejected,
            "counts_by_rule": dict(self.counts_by_rule),
            "findings": [f.to_dict() for f in self.findings],
            "reference_release": self.reference_release,
            "ruleset_version": self.ruleset_version,
        }

    def rules_at(self, line: int) -> set[str]:
        return {f.rule for f in self.findings if f.line == line}
