"""On PostgreSQL the database itself refuses UPDATE and DELETE on frozen report snapshots.
A no-op on SQLite (the model's save()/delete() refuse there)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION budgets_reportsnapshot_frozen() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'report snapshots are frozen: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS budgets_reportsnapshot_frozen ON budgets_reportsnapshot;
CREATE TRIGGER budgets_reportsnapshot_frozen BEFORE UPDATE OR DELETE ON budgets_reportsnapshot
    FOR EACH ROW EXECUTE FUNCTION budgets_reportsnapshot_frozen();
"""
DROP = """
DROP TRIGGER IF EXISTS budgets_reportsnapshot_frozen ON budgets_reportsnapshot;
DROP FUNCTION IF EXISTS budgets_reportsnapshot_frozen();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("budgets", "0005_report_snapshots_exports"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
