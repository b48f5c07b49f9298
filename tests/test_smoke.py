from django.core.management import call_command


def test_no_model_changes_lack_a_migration(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
