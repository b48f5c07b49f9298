"""Benchmark: bytes stored per record in the records table and in the Parquet archive, the
archive rate, and what writing the Parquet product adds to a cut-off, on PostgreSQL.

Sets up a month with SQL as bench/cutoff.py does (--rows records across --organisations, one
version each), then gives every organisation a second version with the same records (so the
first is superseded, 40 days ago, and no cut-off took it), and prints in the same run:
  1. bytes per record in the records table (heap, TOAST and primary key, over all its rows);
  2. records_archive_superseded(): the rate, and bytes per record in the Parquet files;
  3. the provisional cut-off of the live versions, and the writing of its Parquet product
     (queued by the cut-off when it commits; the extracts worker writes it), against the
     writer it replaced (``previous_product``: one query joining and sorting on the server,
     timestamps by to_char, spooled, an HMAC a record), the two alternating, best and median
     of --repeat; both files are checked equal.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench_h13parquet_archive \\
       .venv/bin/python bench/archive.py [--rows 1000000] [--organisations 150] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hmac
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="dids-bench-archive-"))
os.environ.setdefault("DIDS_PSEUDONYM_KEY", "bench-only-pseudonym-key-0123456789abcdef")

from cutoff import MONTH, build_month, setup_django  # noqa: E402 - after the path is set

# The table's own size, or (partitioned by month) the sum of its partitions'.
TABLE_BYTES = ("SELECT pg_total_relation_size('submissions_record') + COALESCE((SELECT "
               "sum(pg_total_relation_size(relid)) FROM pg_partition_tree('submissions_record') "
               "WHERE relid <> 'submissions_record'::regclass), 0)")


def supersede(ids: list[int]) -> list[int]:
    """A second version of each organisation's month holding the same records; the first
    becomes superseded 40 days ago, with a stored file name of its own."""
    from django.db import connection, transaction
    from django.utils import timezone

    from submissions.models import Submission

    long_ago = timezone.now() - timedelta(days=40)
    with transaction.atomic():
        firsts = list(Submission.objects.filter(pk__in=ids))
        for first in firsts:
            first.file.name = f"submissions/{first.organisation_id}/{MONTH:%Y-%m}/v1.upload"
            first.is_live = False
            first.processed_at = long_ago
            first.records_archive = ""
        Submission.objects.bulk_update(firsts, ["file", "is_live", "processed_at",
                                                "records_archive"])
        seconds = Submission.objects.bulk_create(
            Submission(organisation_id=f.organisation_id, activity_month=MONTH, version=2,
                       status="accepted", is_live=True, file=f"bench/{f.organisation_id}/v2",
                       original_name="v2.csv", size_bytes=1, sha256="0" * 64,
                       received_at=f.received_at + timedelta(hours=1),
                       as_of=f.as_of, rows=f.rows, accepted_rows=f.accepted_rows,
                       dataset_version="2.0", ruleset_version="bench", processed_at=long_ago)
            for f in firsts)
        pairs = [(f.pk, s.pk) for f, s in zip(firsts, seconds, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute("SELECT column_name FROM information_schema.columns WHERE "
                           "table_name = 'submissions_record' AND column_name <> 'submission_id'")
            columns = ", ".join(f'"{c}"' for (c,) in cursor.fetchall())
            cursor.execute(
                f"INSERT INTO submissions_record (submission_id, {columns}) "
                f"SELECT p.second, {columns} FROM submissions_record r JOIN "
                "unnest(%s::bigint[], %s::bigint[]) p(first, second) ON r.submission_id = p.first",
                [[a for a, _ in pairs], [b for _, b in pairs]])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE submissions_record")
    return [b for _, b in pairs]


def previous_product(cutoff: Any, path: Path) -> None:
    """The product as the writer before 2026-12-02 wrote it (the same file, slower)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq
    from django.conf import settings
    from django.db import connection

    from submissions.cycle.product import PRODUCT_SCHEMA, RECORD_COLUMNS
    from submissions.models import CutOffVersion

    key = settings.DIDS_PSEUDONYM_KEY.encode()
    ids = sorted(CutOffVersion.objects.filter(cutoff=cutoff).values_list("submission_id",
                                                                       flat=True))
    read = PRODUCT_SCHEMA.set(4, pa.field("nhs_number", pa.string()))
    select = (f"SELECT s.organisation_id AS organisation, COALESCE(site.organisation_id, "
              f"s.organisation_id) AS provider, r.submission_id, r.line, r.nhs_number, "
              f"{', '.join(f'r.{c}' for c in RECORD_COLUMNS)} FROM submissions_record r "
              "JOIN submissions_submission s ON s.id = r.submission_id LEFT JOIN reference_site "
              "site ON site.code = r.site_code WHERE r.submission_id = ANY(ARRAY"
              f"{ids}::bigint[]) ORDER BY r.submission_id, r.line")
    columns = [f"to_char(q.\"{i.name}\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
               f"AS \"{i.name}\"" if pa.types.is_timestamp(i.type) else f'q."{i.name}"'
               for i in read]
    texts = ", ".join(f'"{i.name}"' for i in read if pa.types.is_string(i.type))
    sql = (f"COPY (SELECT {', '.join(columns)} FROM ({select}) q) TO STDOUT WITH (FORMAT csv, "
           f"HEADER true, NULL '\\N', FORCE_QUOTE ({texts}))")
    with tempfile.TemporaryFile() as spool, pq.ParquetWriter(path, PRODUCT_SCHEMA,
                                                             compression="zstd") as writer:
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for data in copy:
                spool.write(data)
        spool.seek(0)
        reader = pa_csv.open_csv(
            spool, read_options=pa_csv.ReadOptions(block_size=1 << 24),
            convert_options=pa_csv.ConvertOptions(
                column_types={i.name: i.type for i in read}, null_values=["\\N"],
                strings_can_be_null=True, quoted_strings_can_be_null=False))
        for batch in reader:
            table = pa.Table.from_batches([batch]).cast(read)
            numbers = table["nhs_number"].to_pylist()
            pseudonyms = pa.array([None if n is None else hmac.digest(key, n.encode(),
                                                                      "sha256").hex()
                                   for n in numbers], pa.string())
            writer.write_table(table.set_column(4, "nhs_number_pseudonym", pseudonyms)
                               .cast(PRODUCT_SCHEMA))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--organisations", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    import pyarrow.parquet as pq
    from django.conf import settings
    from django.db import connection

    from submissions.archive_services import records_archive_superseded
    from submissions.cycle.product import product_write
    from submissions.cycle.services import period_cut_off
    from submissions.cycle.timetable import default_deadlines
    from submissions.models import CutOff, Submission

    load = os.getloadavg()
    CutOff.objects.filter(period__activity_month=MONTH).delete()
    Submission.objects.filter(activity_month=MONTH, version=2).delete()
    firsts = build_month(args.rows, args.organisations)
    supersede(firsts)
    with connection.cursor() as cursor:
        cursor.execute(TABLE_BYTES)
        table_bytes = int(cursor.fetchone()[0])
        cursor.execute("SELECT count(*) FROM submissions_record")
        table_rows = int(cursor.fetchone()[0])

    start = time.perf_counter()
    archived = records_archive_superseded()
    seconds = time.perf_counter() - start
    rows = sum(a.rows for a in archived)
    parquet_bytes = sum(a.bytes for a in archived)

    after = default_deadlines(MONTH).provisional + timedelta(minutes=1)
    key = settings.DIDS_PSEUDONYM_KEY
    times: dict[str, list[float]] = {"cutoff": [], "product": [], "previous": []}
    previous_path = Path(settings.MEDIA_ROOT) / "previous-product.parquet"
    for _ in range(args.repeat):
        # The cut-off as the cycle worker runs it (the product is queued, not written, here:
        # no key while it runs), then the product as the extracts worker writes it, and as
        # the previous writer wrote it.
        settings.DIDS_PSEUDONYM_KEY = ""
        CutOff.objects.filter(period__activity_month=MONTH).delete()
        begin = time.perf_counter()
        cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional", now=after,
                                   run_by_label="bench/archive.py")
        times["cutoff"].append(time.perf_counter() - begin)
        settings.DIDS_PSEUDONYM_KEY = key
        begin = time.perf_counter()
        path = product_write(cutoff=cutoff)
        times["product"].append(time.perf_counter() - begin)
        begin = time.perf_counter()
        previous_product(cutoff, previous_path)
        times["previous"].append(time.perf_counter() - begin)
        if path is None or not pq.read_table(path).equals(pq.read_table(previous_path)):
            sys.exit("The product differs from the previous writer's")
    CutOff.objects.filter(period__activity_month=MONTH).delete()
    end_load = os.getloadavg()

    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} at the start, {end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f} "
          "at the end")
    print(f"records table: {table_rows:,} records (live and superseded), {table_bytes:,} bytes: "
          f"{table_bytes / table_rows:.0f} bytes per record")
    print(f"archived: {len(archived)} versions, {rows:,} records in {seconds:.2f} s "
          f"({rows / seconds:,.0f} records/s); Parquet {parquet_bytes:,} bytes: "
          f"{parquet_bytes / max(rows, 1):.1f} bytes per record "
          f"({table_bytes / table_rows / (parquet_bytes / max(rows, 1)):.1f}x smaller)")
    best = {k: min(v) for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    live = cutoff.record_count
    print(f"cut-off of {live:,} live records: best {best['cutoff']:.2f} s, median "
          f"{median['cutoff']:.2f} s")
    print(f"its Parquet product, written after it commits (extracts worker): best "
          f"{best['product']:.2f} s, median {median['product']:.2f} s "
          f"({live / median['product']:,.0f} records/s, {median['product'] / median['cutoff']:.2f}x "
          f"the cut-off); the previous writer: best {best['previous']:.2f} s, median "
          f"{median['previous']:.2f} s ({live / median['previous']:,.0f} records/s): "
          f"{median['previous'] / median['product']:.1f}x faster (medians, alternating, "
          f"{args.repeat} rounds)")


if __name__ == "__main__":
    main()
