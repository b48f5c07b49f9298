# Records carry their version's activity month, and on PostgreSQL the records table is
# partitioned by it (declarative, by range, one partition a month: see submissions/partitions.py
# for how a new month's partition is made). SQLite keeps one table: a plain added column.
# And each accepted version gets the statistics' counts of its records (VersionStatistics),
# counted here once for the versions already stored (new ones get them as they are stored).

from datetime import date

import django.db.models.deletion
from django.db import migrations, models

SUBMISSION_TABLE = "submissions_submission"


def _next_month(month):
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_table(cursor, table, submission_table=SUBMISSION_TABLE):
    """Turn ``table`` (records with submission_id and line, keyed on both) into a table
    partitioned by its version's activity month, with every row moved: build the partitioned
    table beside it, a partition for each month its rows belong to, copy the rows with their
    month, then drop the old table and give the new one its name. Returns the months."""
    new = f"{table}_partitioned"
    cursor.execute(
        f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS, activity_month date NOT NULL, "
        f"PRIMARY KEY (submission_id, line, activity_month)) PARTITION BY RANGE (activity_month)")
    cursor.execute(f"SELECT DISTINCT s.activity_month FROM {submission_table} s "
                   f"WHERE EXISTS (SELECT 1 FROM {table} r WHERE r.submission_id = s.id) ORDER BY 1")
    months = [row[0] for row in cursor.fetchall()]
    for month in months:
        cursor.execute(f"CREATE TABLE {table}_{month:%Y_%m} PARTITION OF {new} FOR VALUES "
                       f"FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')")
    cursor.execute(f"INSERT INTO {new} SELECT r.*, s.activity_month FROM {table} r "
                   f"JOIN {submission_table} s ON s.id = r.submission_id")
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
    cursor.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {new}_pkey TO {table}_pkey")
    return months


def unpartition_table(cursor, table):
    """The reverse: one plain table keyed on (submission_id, line), without the month."""
    old = f"{table}_plain"
    cursor.execute(f"CREATE TABLE {old} (LIKE {table} INCLUDING DEFAULTS)")
    cursor.execute(f"INSERT INTO {old} SELECT * FROM {table}")
    cursor.execute(f"DROP TABLE {table}")  # the partitions go with it
    cursor.execute(f"ALTER TABLE {old} RENAME TO {table}")
    cursor.execute(f"ALTER TABLE {table} DROP COLUMN activity_month")
    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (submission_id, line)")


def _month_field():
    field = models.DateField(default=date(1970, 1, 1))
    field.set_attributes_from_name("activity_month")
    return field


def forwards(apps, schema_editor):
    table = apps.get_model("submissions", "Record")._meta.db_table
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            partition_table(cursor, table)
        return
    schema_editor.add_field(apps.get_model("submissions", "Record"), _month_field())
    schema_editor.execute(
        f"UPDATE {table} SET activity_month = (SELECT s.activity_month FROM {SUBMISSION_TABLE} s "
        f"WHERE s.id = {table}.submission_id)")


def backwards(apps, schema_editor):
    table = apps.get_model("submissions", "Record")._meta.db_table
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            unpartition_table(cursor, table)
        return
    schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN activity_month")


def backfill_statistics(apps, schema_editor):
    """The counts ``submissions.tally`` keeps, from the stored records of accepted versions."""
    vendor = schema_editor.connection.vendor
    table = apps.get_model("submissions", "Record")._meta.db_table

    def wait(later, earlier):
        if vendor == "postgresql":
            return f"(r.{later} - r.{earlier})"
        return f"CAST(julianday(r.{later}) - julianday(r.{earlier}) AS INTEGER)"

    accepted = (f"r.submission_id IN (SELECT id FROM {SUBMISSION_TABLE} "
                "WHERE status IN ('accepted', 'accepted_with_warnings'))")
    found = {}
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT r.submission_id, r.site_code, r.patient_source_setting, r.modality, "
                       f"count(*) FROM {table} r WHERE {accepted} GROUP BY 1, 2, 3, 4 ORDER BY 1")
        for submission_id, site, source, modality, count in cursor.fetchall():
            found.setdefault(submission_id, {"groups": [], "waits": {}})["groups"].append(
                [site, source, modality, int(count)])
        for name, (later, earlier) in (("request_to_test", ("activity_date", "request_date")),
                                       ("test_to_report", ("report_day", "activity_date"))):
            days = wait(later, earlier)
            cursor.execute(f"SELECT r.submission_id, r.modality, {days}, count(*) FROM {table} r "
                           f"WHERE {accepted} AND {days} IS NOT NULL GROUP BY 1, 2, 3")
            for submission_id, modality, day, count in cursor.fetchall():
                waits = found.setdefault(submission_id, {"groups": [], "waits": {}})["waits"]
                waits.setdefault(name, {}).setdefault(modality, {})[str(int(day))] = int(count)
    statistics = apps.get_model("submissions", "VersionStatistics")
    statistics.objects.bulk_create(
        [statistics(submission_id=pk, **values) for pk, values in found.items()], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ('submissions', '0010_cutoff_organisation_count'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='record',
                    name='activity_month',
                    field=models.DateField(default=None, help_text="The version's activity month (the partition key)."),
                    preserve_default=False,
                ),
                migrations.AlterField(
                    model_name='record',
                    name='pk',
                    field=models.CompositePrimaryKey('submission', 'line', 'activity_month', blank=True, editable=False, primary_key=True, serialize=False),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
        migrations.CreateModel(
            name='VersionStatistics',
            fields=[
                ('submission', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='statistics', serialize=False, to='submissions.submission')),
                ('groups', models.JSONField(blank=True, default=list, help_text='[site code, patient source setting, modality, records]')),
                ('waits', models.JSONField(blank=True, default=dict, help_text='Wait name -> modality -> {days: records}.')),
            ],
            options={
                'verbose_name_plural': 'version statistics',
                'ordering': ['submission'],
            },
        ),
        migrations.RunPython(backfill_statistics, migrations.RunPython.noop),
    ]
