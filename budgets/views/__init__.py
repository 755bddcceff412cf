"""Budgets pages, one module per area: funds (commissioner workspace), ledger, reports."""
