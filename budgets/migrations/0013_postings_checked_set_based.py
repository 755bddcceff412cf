"""Spend postings without row-by-row foreign-key checks (reliability-and-performance.md 4.2: check
references set-based before the insert; a row check costs 5-12 s per million rows). What the FK to
budget lines guarded against, a line deleted from under its postings, a trigger on budget lines now
refuses on PostgreSQL (Django's on_delete=PROTECT refuses it everywhere). The reversal link keeps
"at most one reversal per posting" as a unique index on the non-null links only."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


GUARD = """
CREATE OR REPLACE FUNCTION budgets_budgetline_keeps_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM budgets_spendposting WHERE budget_line_id = OLD.id) THEN
        RAISE EXCEPTION 'budget line % has spend postings and cannot be deleted', OLD.code
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS budgets_budgetline_keeps_postings ON budgets_budgetline;
CREATE TRIGGER budgets_budgetline_keeps_postings BEFORE DELETE ON budgets_budgetline
    FOR EACH ROW EXECUTE FUNCTION budgets_budgetline_keeps_postings();
"""
UNGUARD = """
DROP TRIGGER IF EXISTS budgets_budgetline_keeps_postings ON budgets_budgetline;
DROP FUNCTION IF EXISTS budgets_budgetline_keeps_postings();
"""


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("budgets", "0012_line_variance_no_single_fk_indexes"),
        ("localities", "0002_alter_user_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="spendposting",
            name="budget_line",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="postings",
                to="budgets.budgetline",
            ),
        ),
        migrations.AlterField(
            model_name="spendposting",
            name="ledger_import",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="postings",
                to="budgets.ledgerimport",
            ),
        ),
        migrations.AlterField(
            model_name="spendposting",
            name="reverses",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversals",
                to="budgets.spendposting",
            ),
        ),
        migrations.AddConstraint(
            model_name="spendposting",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reverses__isnull", False)),
                fields=("reverses",),
                name="uniq_posting_reversal",
            ),
        ),
        migrations.RunPython(guard, unguard),
    ]
