"""A logging filter that keeps NHS numbers out of every log line."""

from __future__ import annotations

import logging
import re

# Ten digits, optionally grouped 3-3-4 with spaces or hyphens, standing on their own: not part
# of a longer run of letters or digits, so that checksums, hashes and identifiers that happen to
# hold ten digits in a row ("2575674446d6ba71") are left whole.
NHS_NUMBER_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])\d{3}[ -]?\d{3}[ -]?\d{4}(?![0-9A-Za-z])")


def redact(text: str) -> str:
    return NHS_NUMBER_PATTERN.sub("[NHS number]", text)


class RedactNhsNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
