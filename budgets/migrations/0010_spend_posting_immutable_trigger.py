"""On PostgreSQL the database itself refuses UPDATE and DELETE on spend postings: a posting is
corrected by a reversal, never changed. A no-op on SQLite (the services never update postings)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION budgets_spendposting_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'spend postings are immutable: % refused; post a reversal instead', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS budgets_spendposting_immutable ON budgets_spendposting;
CREATE TRIGGER budgets_spendposting_immutable BEFORE UPDATE OR DELETE ON budgets_spendposting
    FOR EACH ROW EXECUTE FUNCTION budgets_spendposting_immutable();
"""
DROP = """
DROP TRIGGER IF EXISTS budgets_spendposting_immutable ON budgets_spendposting;
DROP FUNCTION IF EXISTS budgets_spendposting_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("budgets", "0008_alter_linevariance_fund_alter_linevariance_line_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
