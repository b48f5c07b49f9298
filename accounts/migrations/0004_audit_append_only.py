"""The audit trail is append-only on PostgreSQL: a trigger refuses UPDATE, DELETE and TRUNCATE
on it (whoever asks, the owner included), and those privileges are revoked from PUBLIC and
from the role running this migration when that role does not own the table.

Deployment with a separate owner role (recommended): run migrations as the owner, and grant
the application role only ``SELECT, INSERT`` on the table (see the README's Security section).
SQLite (the embedded development default) has no roles; the hash chain still detects changes.
"""

from django.db import migrations

TABLE = "accounts_auditevent"

FORWARD = f"""
CREATE OR REPLACE FUNCTION dids_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER {TABLE}_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION dids_audit_refuse_change();
CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION dids_audit_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON {TABLE} FROM PUBLIC;
DO $$
BEGIN
    IF (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = '{TABLE}'::regclass)
            <> current_user THEN
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON {TABLE} FROM %I', current_user);
    END IF;
END
$$;
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS {TABLE}_no_update_delete ON {TABLE};
DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE};
DROP FUNCTION IF EXISTS dids_audit_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # several statements: no parameters
            cursor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_audit_events")]

    operations = [migrations.RunPython(forward, backward)]
