"""The commissioning demo loads through the real services, feeds commitments and is idempotent."""

from __future__ import annotations

import pytest

from budgets.demo import funds as budgets_demo
from budgets.models import LineCommitment
from commissioning import demo, selectors
from commissioning.models import (
    BcfCondition,
    BcfMetric,
    BcfScheme,
    Contract,
    ContractDecision,
    Provider,
)
from localities.demo import seed_users
from localities.models import Organisation

pytestmark = pytest.mark.django_db


def test_demo_loads_contracts_decisions_and_bcf_and_is_idempotent(reference):
    seed_users()
    list(budgets_demo.seed())
    messages = list(demo.seed())
    assert messages[0].startswith("commissioning demo: ")
    trusts = Organisation.objects.filter(kind=Organisation.Kind.NHS_PROVIDER).count()
    assert Provider.objects.filter(kind=Provider.Kind.NHS_TRUST).count() == trusts > 0
    assert Contract.objects.filter(status="active").count() >= 12
    assert LineCommitment.objects.filter(source_ref__startswith="contract:").exists()
    awaiting = ContractDecision.objects.filter(status="awaiting_board")
    assert awaiting.exists()
    assert all(d.value > d.fund.officer_virement_limit for d in awaiting)
    assert selectors.awaiting_board(awaiting.values_list("fund_id", flat=True))
    assert BcfScheme.objects.filter(fund__code="BCF-MAN").count() == 8
    assert BcfCondition.objects.count() == 8
    assert BcfMetric.objects.count() == 24
    for contract in Contract.objects.all():
        profile = sum(
            c.amount for cl in contract.contract_lines.all() for c in cl.commitments.all()
        )
        assert profile == contract.value, contract.reference
    counts = Contract.objects.count(), ContractDecision.objects.count()
    assert list(demo.seed()) == ["commissioning demo: already loaded"]
    assert (Contract.objects.count(), ContractDecision.objects.count()) == counts
