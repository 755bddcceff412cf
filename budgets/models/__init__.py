"""The money: years and periods, pooled funds, budget lines, spend, forecasts and snapshots."""

from .funds import (
    Contribution,
    ContributionInstalment,
    FundBudget,
    FundPeriod,
    PooledFund,
    RiskShareAgreement,
)
from .ledger import IdempotencyRecord, LedgerImport, LedgerMapping, SpendPosting
from .lines import BudgetAdjustment, BudgetLine, Forecast, Virement
from .outbox import StaleMark
from .reference import FinancialYear, Period, ServiceArea

__all__ = [
    "BudgetAdjustment",
    "BudgetLine",
    "Contribution",
    "ContributionInstalment",
    "FinancialYear",
    "Forecast",
    "FundBudget",
    "FundPeriod",
    "IdempotencyRecord",
    "LedgerImport",
    "LedgerMapping",
    "Period",
    "PooledFund",
    "RiskShareAgreement",
    "ServiceArea",
    "SpendPosting",
    "StaleMark",
    "Virement",
]
