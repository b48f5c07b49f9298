"""NHS number masking: findings never carry a full NHS number."""

from __future__ import annotations

import re

_TEN_DIGITS = re.compile(r"(?<![0-9])([0-9][ -]?){9}[0-9](?![0-9])")


def mask_nhs_number(value: str | None) -> str | None:
    """Mask every digit but the last 3: '4857302617' -> '*******617'."""
    if value is None:
        return None
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    if len(digits) <= 3:
        return "*" * len(value) if value else value
    keep = set(digits[-3:])
    return "".join(ch if i in keep or not ch.isdigit() else "*" for i, ch in enumerate(value))


def mask_text(text: str | None) -> str | None:
    """Mask anything in free text that looks like a 10-digit NHS number (allowing 3-3-4 spacing)."""
    if not text:
        return text
    return _TEN_DIGITS.sub(lambda m: mask_nhs_number(m.group(0)) or "", text)
