"""Every write that matters in budgets, one function per business action, split by sub-domain.

Import from the sub-module: `from budgets.services.ledger import spend_post`.
"""
