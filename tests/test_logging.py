"""NHS numbers never reach a log line."""

import io
import logging

import pytest

from dids_portal.lib.logging import RedactNhsNumbers, redact

REDACTED = "[NHS number]"


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "943-476-5919"])
def test_redact_hides_an_nhs_number_written_in_any_accepted_form(number):
    assert redact(f"record for {number} rejected") == f"record for {REDACTED} rejected"


def test_redact_hides_every_nhs_number_in_a_line():
    assert redact("9434765919,4010232137") == f"{REDACTED},{REDACTED}"


@pytest.mark.parametrize("text", ["12345678901", "123456789", "line 42, accession 123456"])
def test_redact_leaves_numbers_that_are_not_ten_digits_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize("text", [
    "2575674446d6ba71",  # a records checksum whose first ten characters are digits
    "sha256 e3b0c442a9434765919b934ca495991b7852b855",
    "checksum 9434765919f0",
])
def test_redact_leaves_ten_digits_inside_a_checksum_or_hash_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize("text", ["id=9434765919;", "(943 476 5919)", "file_9434765919.csv"])
def test_redact_hides_an_nhs_number_between_punctuation(text):
    assert "[NHS number]" in redact(text) and "9434765919" not in redact(text).replace(" ", "")


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("dids", logging.INFO, __file__, 1, msg, args or None, None)


def test_filter_redacts_an_nhs_number_passed_as_a_log_argument():
    entry = record("checking patient %s", "943 476 5919")

    kept = RedactNhsNumbers().filter(entry)

    assert kept is True
    assert entry.getMessage() == f"checking patient {REDACTED}"


def test_filter_redacts_an_nhs_number_in_the_message_itself():
    entry = record("checking patient 9434765919")

    RedactNhsNumbers().filter(entry)

    assert entry.getMessage() == f"checking patient {REDACTED}"


def test_filter_leaves_a_clean_record_and_its_arguments_alone():
    entry = record("file %s has %d rows", "upload.csv", 3)

    RedactNhsNumbers().filter(entry)

    assert (entry.msg, entry.args) == ("file %s has %d rows", ("upload.csv", 3))


def test_filter_redacts_an_nhs_number_in_a_formatted_traceback():
    entry = record("failed")
    entry.exc_text = "ValueError: bad NHS number 9434765919"

    RedactNhsNumbers().filter(entry)

    assert entry.exc_text == f"ValueError: bad NHS number {REDACTED}"


def test_configured_console_handler_redacts_nhs_numbers():
    handler = next(
        h for h in logging.getLogger().handlers
        if any(isinstance(f, RedactNhsNumbers) for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logging.getLogger("dids_portal.test").warning("patient %s", "943-476-5919")
    finally:
        handler.setStream(previous)

    assert stream.getvalue() == f"patient {REDACTED}\n"
