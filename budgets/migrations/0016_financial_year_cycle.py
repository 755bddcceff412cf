"""The financial year cycle: years opened, budget setting (roll forward), savings plans,
contribution receipts, the year-end close and its settlement, the underspend choice and carried-forward
contributions, and the memorandum account kind of frozen report."""

import django.db.models.deletion
import simple_history.models
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('budgets', '0015_import_profiles_and_mapping_rules'),
        ('localities', '0002_alter_user_options'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BudgetSetting',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uplift_pct', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=7)),
                ('efficiency_pct', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=7)),
                ('contribution_uplift_pct', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=7)),
                ('contribution_rates', models.JSONField(blank=True, default=dict)),
                ('dropped', models.JSONField(blank=True, default=list)),
                ('notes', models.JSONField(blank=True, default=list)),
                ('contributions', models.JSONField(blank=True, default=list)),
                ('lines_carried', models.PositiveIntegerField(default=0)),
                ('rolled_at', models.DateTimeField()),
                ('reason', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['fund__code', 'year__start_date'],
            },
        ),
        migrations.CreateModel(
            name='BudgetSettingRate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uplift_pct', models.DecimalField(decimal_places=2, max_digits=7)),
                ('efficiency_pct', models.DecimalField(decimal_places=2, max_digits=7)),
            ],
            options={
                'ordering': ['setting_id', 'service_area__code'],
            },
        ),
        migrations.CreateModel(
            name='ContributionReceipt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('received_on', models.DateField()),
                ('amount', models.DecimalField(decimal_places=2, max_digits=18)),
                ('reference', models.CharField(max_length=60)),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['contribution_id', 'received_on', 'id'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalBudgetSetting',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('uplift_pct', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=7)),
                ('efficiency_pct', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=7)),
                ('contribution_uplift_pct', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=7)),
                ('contribution_rates', models.JSONField(blank=True, default=dict)),
                ('dropped', models.JSONField(blank=True, default=list)),
                ('notes', models.JSONField(blank=True, default=list)),
                ('contributions', models.JSONField(blank=True, default=list)),
                ('lines_carried', models.PositiveIntegerField(default=0)),
                ('rolled_at', models.DateTimeField()),
                ('reason', models.TextField(blank=True)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical budget setting',
                'verbose_name_plural': 'historical budget settings',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalContributionReceipt',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('received_on', models.DateField()),
                ('amount', models.DecimalField(decimal_places=2, max_digits=18)),
                ('reference', models.CharField(max_length=60)),
                ('recorded_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical contribution receipt',
                'verbose_name_plural': 'historical contribution receipts',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalFinancialYear',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('code', models.CharField(db_index=True, max_length=7)),
                ('start_date', models.DateField()),
                ('end_date', models.DateField()),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical financial year',
                'verbose_name_plural': 'historical financial years',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalSavingsDelivery',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('month', models.PositiveSmallIntegerField()),
                ('amount', models.DecimalField(decimal_places=2, max_digits=18)),
                ('commentary', models.TextField(blank=True)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical savings delivery',
                'verbose_name_plural': 'historical savings deliverys',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalSavingsScheme',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('code', models.CharField(max_length=30)),
                ('name', models.CharField(max_length=200)),
                ('p01', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p02', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p03', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p04', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p05', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p06', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p07', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p08', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p09', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p10', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p11', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p12', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('forecast_delivery', models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True)),
                ('commentary', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical savings scheme',
                'verbose_name_plural': 'historical savings schemes',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalSavingsScheme_lines',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('m2m_history_id', models.AutoField(primary_key=True, serialize=False)),
            ],
            options={
                'verbose_name': 'HistoricalSavingsScheme_lines',
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalYearEnd',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('run', models.PositiveSmallIntegerField(default=1)),
                ('status', models.CharField(choices=[('closed', 'Closed'), ('reopened', 'Reopened')], default='closed', max_length=8)),
                ('budget', models.DecimalField(decimal_places=2, max_digits=18)),
                ('outturn', models.DecimalField(decimal_places=2, max_digits=18)),
                ('variance', models.DecimalField(decimal_places=2, max_digits=18)),
                ('rule', models.CharField(max_length=10)),
                ('underspend', models.CharField(max_length=16)),
                ('inputs', models.JSONField(blank=True, default=dict)),
                ('closed_at', models.DateTimeField()),
                ('reason', models.TextField(blank=True)),
                ('reopened_at', models.DateTimeField(blank=True, null=True)),
                ('reopen_reason', models.TextField(blank=True)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical year end',
                'verbose_name_plural': 'historical year ends',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='RolledLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('prior_recurrent', models.DecimalField(decimal_places=2, max_digits=18)),
                ('one_off_dropped', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('uplift_pct', models.DecimalField(decimal_places=2, max_digits=7)),
                ('efficiency_pct', models.DecimalField(decimal_places=2, max_digits=7)),
                ('uplift', models.DecimalField(decimal_places=2, max_digits=18)),
                ('efficiency', models.DecimalField(decimal_places=2, max_digits=18)),
                ('new_budget', models.DecimalField(decimal_places=2, max_digits=18)),
            ],
            options={
                'ordering': ['setting_id', 'line_id'],
            },
        ),
        migrations.CreateModel(
            name='SavingsDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.PositiveSmallIntegerField()),
                ('amount', models.DecimalField(decimal_places=2, max_digits=18)),
                ('commentary', models.TextField(blank=True)),
                ('recorded_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['scheme_id', 'month'],
            },
        ),
        migrations.CreateModel(
            name='SavingsScheme',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=30)),
                ('name', models.CharField(max_length=200)),
                ('p01', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p02', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p03', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p04', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p05', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p06', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p07', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p08', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p09', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p10', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p11', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('p12', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('forecast_delivery', models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True)),
                ('commentary', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['fund__code', 'year__start_date', 'code'],
            },
        ),
        migrations.CreateModel(
            name='Settlement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('is_host', models.BooleanField(default=False)),
                ('contribution', models.DecimalField(decimal_places=2, max_digits=18)),
                ('carried_forward_in', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('receipts', models.DecimalField(decimal_places=2, max_digits=18)),
                ('variance_share', models.DecimalField(decimal_places=2, max_digits=18)),
                ('underspend_returned', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('underspend_retained', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('underspend_carried_forward', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('net_due', models.DecimalField(decimal_places=2, max_digits=18)),
            ],
            options={
                'ordering': ['year_end_id', '-is_host', 'partner__code'],
            },
        ),
        migrations.CreateModel(
            name='YearEnd',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('run', models.PositiveSmallIntegerField(default=1)),
                ('status', models.CharField(choices=[('closed', 'Closed'), ('reopened', 'Reopened')], default='closed', max_length=8)),
                ('budget', models.DecimalField(decimal_places=2, max_digits=18)),
                ('outturn', models.DecimalField(decimal_places=2, max_digits=18)),
                ('variance', models.DecimalField(decimal_places=2, max_digits=18)),
                ('rule', models.CharField(max_length=10)),
                ('underspend', models.CharField(max_length=16)),
                ('inputs', models.JSONField(blank=True, default=dict)),
                ('closed_at', models.DateTimeField()),
                ('reason', models.TextField(blank=True)),
                ('reopened_at', models.DateTimeField(blank=True, null=True)),
                ('reopen_reason', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['fund__code', 'year__start_date', 'run'],
            },
        ),
        migrations.AddField(
            model_name='contribution',
            name='carried_forward',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18),
        ),
        migrations.AddField(
            model_name='historicalcontribution',
            name='carried_forward',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=18),
        ),
        migrations.AddField(
            model_name='historicalriskshareagreement',
            name='underspend',
            field=models.CharField(choices=[('return_pro_rata', 'Returned to the partners (UNDERSPEND_RETURN_PRORATA)'), ('retain', 'Retained in the pool (UNDERSPEND_RETAIN)'), ('carry_forward', "Carried forward into next year's contributions")], default='return_pro_rata', max_length=16),
        ),
        migrations.AddField(
            model_name='riskshareagreement',
            name='underspend',
            field=models.CharField(choices=[('return_pro_rata', 'Returned to the partners (UNDERSPEND_RETURN_PRORATA)'), ('retain', 'Retained in the pool (UNDERSPEND_RETAIN)'), ('carry_forward', "Carried forward into next year's contributions")], default='return_pro_rata', max_length=16),
        ),
        migrations.AlterField(
            model_name='reportsnapshot',
            name='kind',
            field=models.CharField(choices=[('variance', 'Monthly variance report'), ('memorandum', 'Memorandum account for the year (frozen at year end)')], default='variance', max_length=10),
        ),
        migrations.AddConstraint(
            model_name='contribution',
            constraint=models.CheckConstraint(condition=models.Q(('carried_forward__gte', 0)), name='contribution_carried_non_negative'),
        ),
        migrations.AddField(
            model_name='budgetsetting',
            name='from_year',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='budgets.financialyear'),
        ),
        migrations.AddField(
            model_name='budgetsetting',
            name='fund',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='budget_settings', to='budgets.pooledfund'),
        ),
        migrations.AddField(
            model_name='budgetsetting',
            name='rolled_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='budgetsetting',
            name='year',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='budgets.financialyear'),
        ),
        migrations.AddField(
            model_name='budgetsettingrate',
            name='service_area',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='budgets.servicearea'),
        ),
        migrations.AddField(
            model_name='budgetsettingrate',
            name='setting',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rates', to='budgets.budgetsetting'),
        ),
        migrations.AddField(
            model_name='contributionreceipt',
            name='contribution',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='receipts', to='budgets.contribution'),
        ),
        migrations.AddField(
            model_name='contributionreceipt',
            name='recorded_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalbudgetsetting',
            name='from_year',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.financialyear'),
        ),
        migrations.AddField(
            model_name='historicalbudgetsetting',
            name='fund',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.pooledfund'),
        ),
        migrations.AddField(
            model_name='historicalbudgetsetting',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalbudgetsetting',
            name='rolled_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalbudgetsetting',
            name='year',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.financialyear'),
        ),
        migrations.AddField(
            model_name='historicalcontributionreceipt',
            name='contribution',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.contribution'),
        ),
        migrations.AddField(
            model_name='historicalcontributionreceipt',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalcontributionreceipt',
            name='recorded_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalfinancialyear',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalsavingsdelivery',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalsavingsdelivery',
            name='recorded_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalsavingsscheme',
            name='created_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalsavingsscheme',
            name='fund',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.pooledfund'),
        ),
        migrations.AddField(
            model_name='historicalsavingsscheme',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalsavingsscheme',
            name='lead_commissioner',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='localities.organisation'),
        ),
        migrations.AddField(
            model_name='historicalsavingsscheme',
            name='year',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.financialyear'),
        ),
        migrations.AddField(
            model_name='historicalsavingsscheme_lines',
            name='budgetline',
            field=models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.budgetline'),
        ),
        migrations.AddField(
            model_name='historicalsavingsscheme_lines',
            name='history',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, to='budgets.historicalsavingsscheme'),
        ),
        migrations.AddField(
            model_name='historicalyearend',
            name='closed_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalyearend',
            name='fund',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.pooledfund'),
        ),
        migrations.AddField(
            model_name='historicalyearend',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalyearend',
            name='reopened_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalyearend',
            name='year',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.financialyear'),
        ),
        migrations.AddField(
            model_name='rolledline',
            name='line',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='rolled_from', to='budgets.budgetline'),
        ),
        migrations.AddField(
            model_name='rolledline',
            name='setting',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='budgets.budgetsetting'),
        ),
        migrations.AddField(
            model_name='rolledline',
            name='source_line',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='budgets.budgetline'),
        ),
        migrations.AddField(
            model_name='savingsdelivery',
            name='recorded_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='savingsscheme',
            name='created_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='savingsscheme',
            name='fund',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='savings_schemes', to='budgets.pooledfund'),
        ),
        migrations.AddField(
            model_name='savingsscheme',
            name='lead_commissioner',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='savings_schemes', to='localities.organisation'),
        ),
        migrations.AddField(
            model_name='savingsscheme',
            name='lines',
            field=models.ManyToManyField(blank=True, related_name='savings_schemes', to='budgets.budgetline'),
        ),
        migrations.AddField(
            model_name='savingsscheme',
            name='year',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='budgets.financialyear'),
        ),
        migrations.AddField(
            model_name='savingsdelivery',
            name='scheme',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='budgets.savingsscheme'),
        ),
        migrations.AddField(
            model_name='historicalsavingsscheme_lines',
            name='savingsscheme',
            field=models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.savingsscheme'),
        ),
        migrations.AddField(
            model_name='historicalsavingsdelivery',
            name='scheme',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='budgets.savingsscheme'),
        ),
        migrations.AddField(
            model_name='settlement',
            name='partner',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='localities.organisation'),
        ),
        migrations.AddField(
            model_name='yearend',
            name='closed_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='yearend',
            name='fund',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='year_ends', to='budgets.pooledfund'),
        ),
        migrations.AddField(
            model_name='yearend',
            name='reopened_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='yearend',
            name='year',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='year_ends', to='budgets.financialyear'),
        ),
        migrations.AddField(
            model_name='settlement',
            name='year_end',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='settlements', to='budgets.yearend'),
        ),
        migrations.AddConstraint(
            model_name='budgetsetting',
            constraint=models.UniqueConstraint(fields=('fund', 'year'), name='uniq_budget_setting'),
        ),
        migrations.AddConstraint(
            model_name='budgetsettingrate',
            constraint=models.UniqueConstraint(fields=('setting', 'service_area'), name='uniq_budget_setting_rate'),
        ),
        migrations.AddConstraint(
            model_name='contributionreceipt',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='receipt_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='savingsscheme',
            constraint=models.UniqueConstraint(fields=('fund', 'year', 'code'), name='uniq_savings_scheme'),
        ),
        migrations.AddConstraint(
            model_name='savingsscheme',
            constraint=models.CheckConstraint(condition=models.Q(('forecast_delivery__gte', 0), ('forecast_delivery__isnull', True), _connector='OR'), name='savings_forecast_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='savingsdelivery',
            constraint=models.UniqueConstraint(fields=('scheme', 'month'), name='uniq_savings_delivery'),
        ),
        migrations.AddConstraint(
            model_name='savingsdelivery',
            constraint=models.CheckConstraint(condition=models.Q(('month__gte', 1), ('month__lte', 12)), name='savings_month_1_to_12'),
        ),
        migrations.AddConstraint(
            model_name='yearend',
            constraint=models.UniqueConstraint(fields=('fund', 'year', 'run'), name='uniq_year_end_run'),
        ),
        migrations.AddConstraint(
            model_name='yearend',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'closed')), fields=('fund', 'year'), name='uniq_year_end_closed'),
        ),
        migrations.AddConstraint(
            model_name='settlement',
            constraint=models.UniqueConstraint(fields=('year_end', 'partner'), name='uniq_settlement_partner'),
        ),
    ]
