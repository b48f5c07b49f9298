"""The national product as Parquet for the national data platform.

Each cut-off writes its records, pseudonymised as extracts are (``nhs_number_pseudonym``:
HMAC-SHA256 under ``DIDS_PSEUDONYM_KEY``), in a hive layout under ``DIDS_PRODUCT_ROOT``
(default ``MEDIA_ROOT/product``)::

    month=2026-06/cutoff=provisional/part-0.parquet
    month=2026-06/cutoff=final/part-0.parquet

Every file has the same columns with the same types (``PRODUCT_SCHEMA``, empty products
included), so DuckDB, Spark and polars read years of it as one table
(``read_parquet('ROOT/**/*.parquet', hive_partitioning=true)``); ``month`` and ``cutoff`` come
from the path. A file is written beside its final name and renamed over it once complete
and fsynced, so a reader never sees half of one. The extracts worker writes it once the
cut-off commits (``submissions.tasks.write_product``), so the cut-off is not held up; the
due-cut-offs beat writes any a lost task left missing. ``provider`` is the organisation owning the
record's site (the submitter's otherwise), as the statistics count it.
"""

from __future__ import annotations

import hmac
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection

from submissions.models import CutOff, CutOffVersion, Record
from submissions.records_archive import ARROW_TYPES, copy_batches, records_source

logger = logging.getLogger(__name__)

# Fixed, so that months written by different releases read as one table.
RECORD_COLUMNS = (
    "nhs_number_status", "birth_date", "ethnic_category", "gender", "postcode", "gp_practice",
    "patient_source_setting", "referrer_code", "referring_org", "request_date",
    "request_received_date", "procedure_start", "procedure_end", "nicip_code", "snomed_code",
    "report_issued", "site_code", "accession_number", "evaluation_indicator",
    "activity_category", "waiting_list_clock_start", "activity_date", "report_day", "modality")
PRODUCT_SCHEMA = pa.schema(
    [("organisation", pa.string()), ("provider", pa.string()), ("submission_id", pa.int64()),
     ("line", pa.int64()), ("nhs_number_pseudonym", pa.string())]
    + [(c, ARROW_TYPES[Record._meta.get_field(c).get_internal_type()]) for c in RECORD_COLUMNS])
_READ = PRODUCT_SCHEMA.set(4, pa.field("nhs_number", pa.string()))


def product_root() -> Path:
    return Path(settings.DIDS_PRODUCT_ROOT or Path(settings.MEDIA_ROOT) / "product")


def product_path(cutoff: CutOff) -> Path:
    return (product_root() / f"month={cutoff.period.activity_month:%Y-%m}"
            / f"cutoff={cutoff.kind}" / "part-0.parquet")


def _select(table: str, ids: Sequence[int]) -> str:
    columns = ", ".join(f"r.{c}" for c in RECORD_COLUMNS)
    return (f"SELECT s.organisation_id AS organisation, "  # noqa: S608
            f"COALESCE(site.organisation_id, s.organisation_id) AS provider, "
            f"r.submission_id, r.line, r.nhs_number, {columns} FROM {table} r "
            f"JOIN submissions_submission s ON s.id = r.submission_id "
            f"LEFT JOIN reference_site site ON site.code = r.site_code "
            f"WHERE r.submission_id IN ({', '.join(str(int(i)) for i in ids)}) "
            f"ORDER BY r.submission_id, r.line")


def _batches(ids: Sequence[int]) -> Iterator[pa.Table]:
    with records_source(ids) as table:
        if connection.vendor == "postgresql":
            yield from copy_batches(_select(table, ids), _READ)
            return
        with connection.cursor() as cursor:
            cursor.execute(_select(table, ids))
            while rows := cursor.fetchmany(100_000):
                yield pa.Table.from_pylist([dict(zip(_READ.names, r, strict=True)) for r in rows],
                                           schema=_READ)


def _pseudonymised(table: pa.Table, key: bytes) -> pa.Table:
    """The NHS number column replaced by its pseudonym (as ``extracts.pseudonym`` makes it:
    one C call per record, no Python object per other value)."""
    numbers = table["nhs_number"].to_pylist()
    pseudonyms = pa.array([None if n is None else hmac.digest(key, n.encode(), "sha256").hex()
                           for n in numbers], pa.string())
    return table.set_column(4, "nhs_number_pseudonym", pseudonyms).cast(PRODUCT_SCHEMA)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def product_write(*, cutoff: CutOff) -> Path | None:
    """Write the cut-off's product file (replacing one a previous run wrote); None, with a
    warning, where no pseudonym key is set (the product is never written unpseudonymised)."""
    key = (settings.DIDS_PSEUDONYM_KEY or "").encode()
    if not key:
        logger.warning("No DIDS_PSEUDONYM_KEY: the Parquet product of %s was not written", cutoff)
        return None
    ids = sorted(CutOffVersion.objects.filter(cutoff=cutoff).values_list("submission_id",
                                                                       flat=True))
    path = product_path(cutoff)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        with pq.ParquetWriter(partial, PRODUCT_SCHEMA, compression="zstd") as writer:
            if ids:
                for table in _batches(ids):
                    writer.write_table(_pseudonymised(table, key))
        _fsync(partial)
        os.replace(partial, path)
        _fsync(path.parent)
    finally:
        partial.unlink(missing_ok=True)
    return path


def products_write_missing(*, since: date) -> list[Path]:
    """Write the product of every cut-off of a month from ``since`` whose file is missing (its
    task was lost); nothing without the pseudonym key."""
    if not settings.DIDS_PSEUDONYM_KEY:
        return []
    written = []
    for cutoff in (CutOff.objects.select_related("period").defer("manifest")
                   .filter(period__activity_month__gte=since)):
        if not product_path(cutoff).exists():
            logger.warning("The Parquet product of %s was missing: writing it", cutoff)
            path = product_write(cutoff=cutoff)
            if path is not None:
                written.append(path)
    return written
