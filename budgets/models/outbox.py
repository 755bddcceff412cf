"""The outbox: which (fund, line, period) figures are stale, written in the same transaction as the change."""

from __future__ import annotations

from django.db import models

from budgets.models.funds import PooledFund


class StaleMark(models.Model):
    """A recompute that is owed. Rows are deleted by the recompute task that took them.

    `line_id` null means the whole fund; `period_number` null means every period of the year.
    """

    fund = models.ForeignKey(PooledFund, on_delete=models.CASCADE, related_name="stale_marks")
    year_id = models.BigIntegerField()
    line_id = models.BigIntegerField(null=True, blank=True)
    period_number = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["fund", "created_at"], name="stalemark_fund_created")]

    def __str__(self) -> str:
        return f"stale {self.fund_id}/{self.line_id or '*'}/{self.period_number or '*'} ({self.reason})"
