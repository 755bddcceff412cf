"""The money: years and periods, pooled funds, budget lines, spend, forecasts and snapshots."""

from budgets.models.figures import (
    AllocationResult,
    AllocationRun,
    FundPosition,
    LineCommitment,
    LineVariance,
    RiskShareAllocation,
)
from budgets.models.funds import (
    Contribution,
    ContributionInstalment,
    ContributionReceipt,
    FundBudget,
    FundPeriod,
    PooledFund,
    RiskShareAgreement,
)
from budgets.models.ledger import (
    IdempotencyRecord,
    ImportProfile,
    LedgerImport,
    LedgerMapping,
    SpendPosting,
)
from budgets.models.lines import BudgetAdjustment, BudgetLine, Forecast, Virement
from budgets.models.outbox import StaleMark
from budgets.models.reference import FinancialYear, Period, ServiceArea
from budgets.models.reports import ExportJob, ReportSnapshot
from budgets.models.savings import SavingsDelivery, SavingsScheme
from budgets.models.setting import BudgetSetting, BudgetSettingRate, RolledLine
from budgets.models.year_end import Settlement, YearEnd

__all__ = [
    "AllocationResult",
    "AllocationRun",
    "BudgetAdjustment",
    "BudgetLine",
    "BudgetSetting",
    "BudgetSettingRate",
    "Contribution",
    "ContributionInstalment",
    "ContributionReceipt",
    "ExportJob",
    "FinancialYear",
    "Forecast",
    "FundBudget",
    "FundPeriod",
    "FundPosition",
    "IdempotencyRecord",
    "ImportProfile",
    "LedgerImport",
    "LedgerMapping",
    "LineCommitment",
    "LineVariance",
    "Period",
    "PooledFund",
    "ReportSnapshot",
    "RiskShareAgreement",
    "RiskShareAllocation",
    "RolledLine",
    "SavingsDelivery",
    "SavingsScheme",
    "ServiceArea",
    "Settlement",
    "SpendPosting",
    "StaleMark",
    "Virement",
    "YearEnd",
]
