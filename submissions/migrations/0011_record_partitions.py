# Records carry their version's activity month, and on PostgreSQL the records table is
# partitioned by it (declarative, by range, one partition a month: see submissions/partitions.py
# for how a new month's partition is made). SQLite keeps one table: a plain added column.

from datetime import date

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
    ]
