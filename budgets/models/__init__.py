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
from .recompute import (
    AllocationResult,
    AllocationRun,
    FundPosition,
    LineCommitment,
    LineVariance,
    RiskShareAllocation,
)
from .reference import FinancialYear, Period, ServiceArea
from .reports import ExportJob, ReportSnapshot

__all__ = [
    "AllocationResult",
    "AllocationRun",
    "BudgetAdjustment",
    "BudgetLine",
    "Contribution",
    "ContributionInstalment",
    "ExportJob",
    "FinancialYear",
    "Forecast",
    "FundBudget",
    "FundPeriod",
    "FundPosition",
    "IdempotencyRecord",
    "LedgerImport",
    "LedgerMapping",
    "LineCommitment",
    "LineVariance",
    "Period",
    "PooledFund",
    "ReportSnapshot",
    "RiskShareAgreement",
    "RiskShareAllocation",
    "ServiceArea",
    "SpendPosting",
    "StaleMark",
    "Virement",
]
