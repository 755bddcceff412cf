"""Django admin for budgets: each sub-domain registers its own models; Django imports this module."""

from budgets.figures import admin as figures_admin
from budgets.ledger import admin as ledger_admin
from budgets.planning import admin as planning_admin
from budgets.reports import admin as reports_admin

__all__ = ["figures_admin", "ledger_admin", "planning_admin", "reports_admin"]
