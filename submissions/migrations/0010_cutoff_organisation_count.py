from django.db import migrations, models

# The organisations each cut-off already taken holds, counted once from its versions (one
# grouped count over all cut-offs); new cut-offs store it as they are taken, so the cut-off
# list, the timetable and the statistics pages never count a cut-off's versions again.
BACKFILL = """
    UPDATE submissions_cutoff SET organisation_count = counted.n
    FROM (SELECT cutoff_id, count(*) AS n FROM submissions_cutoffversion GROUP BY cutoff_id)
         AS counted
    WHERE counted.cutoff_id = submissions_cutoff.id
"""


class Migration(migrations.Migration):

    dependencies = [
        ("submissions", "0009_status_without_processing"),
    ]

    operations = [
        migrations.AddField(
            model_name="cutoff",
            name="organisation_count",
            field=models.PositiveIntegerField(
                default=0, help_text="Organisations whose version it took."),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
