"""Budget setting: a hand-computed roll forward of a small fund from 2016/17 into 2017/18.

The 2016/17 fund (budget_world, approved), before the roll forward:

| line | area      | phasing   | original   | recurrent changes            | one-off changes             | current    |
| HC01 | ASC.HOME  | flat      | 120,000.00 | virement out to CH01 -12,000 | virement in +5,000, adj -3,000 | 110,000.00 |
| CH01 | ASC.HOME  | flat      |  60,000.00 | virement in +12,000          | virement out -5,000         |  67,000.00 |
| HC02 | ASC.HOME  | flat      |  12,345.67 |                              |                             |  12,345.67 |
| LY01 | ASC.HOME  | last_year |  40,000.00 |                              |                             |  40,000.00 |
| PH01 | PH.SEX    | custom    |  36,000.00 | adjustment +1,200            |                             |  37,200.00 |
| NR01 | ASC.HOME  | flat      |  10,000.00 | (non-recurrent line)         |                             |  10,000.00 |

Rates: fund-wide uplift 2.10%, efficiency 1.50% (factor 1.006); PH.SEX its own uplift 3.00%,
efficiency 0.75% (factor 1.0225). new = prior x factor to the penny; uplift = prior x uplift%;
efficiency = prior + uplift - new.

| line | prior      | uplift   | efficiency | new        |
| HC01 | 108,000.00 | 2,268.00 | 1,620.00   | 108,648.00 |
| CH01 |  72,000.00 | 1,512.00 | 1,080.00   |  72,432.00 |
| HC02 |  12,345.67 |   259.26 |   185.19   |  12,419.74 |  (12,419.744 -> .74; 259.259 -> .26)
| LY01 |  40,000.00 |   840.00 |   600.00   |  40,240.00 |
| PH01 |  37,200.00 | 1,116.00 |   279.00   |  38,037.00 |
Dropped: NR01 (10,000.00, a non-recurrent line), HC01's one-off 2,000.00, CH01's one-off -5,000.00.
"""

from decimal import Decimal

import pytest

from budgets.models import (
    BudgetLine,
    BudgetSetting,
    Contribution,
    FundBudget,
    LedgerMapping,
    RiskShareAgreement,
    RolledLine,
)
from budgets.planning.services import adjustments
from budgets.planning.services.funds import fund_budget_approve, fund_budget_submit
from budgets.planning.services.roll_forward import (
    Rates,
    RollForwardRefused,
    columns,
    fund_roll_forward,
)
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from tests.budgets.factories import (
    ServiceAreaFactory,
    approved_virement,
    budget_world,
    fund_line,
    make_posting,
    make_year,
    mapping,
)

D = Decimal
pytestmark = pytest.mark.django_db

QUARTERS = [D("9000.00"), D(0), D(0)] * 4


@pytest.fixture
def world():
    w = budget_world(status=FundBudget.Status.APPROVED)
    w.next_year = make_year("2017/18")
    area_ph = ServiceAreaFactory(code="PH.SEX", name="Sexual health")
    w.hc02 = fund_line(w, "HC02", "12345.67")
    w.ly01 = fund_line(w, "LY01", "40000.00", phasing_method="last_year")
    w.ph01 = fund_line(
        w,
        "PH01",
        "36000.00",
        service_area=area_ph,
        lead_commissioner=w.ccg,
        phasing_method="custom",
        **{f"m{n:02d}": v for n, v in enumerate(QUARTERS, start=1)},
    )
    w.nr01 = fund_line(w, "NR01", "10000.00", recurrent=False)
    RiskShareAgreement.objects.create(fund=w.fund, year=w.year, rule="pro_rata")
    approved_virement(
        w,
        from_line=w.host_line,
        to_line=w.ccg_line,
        amount="12000.00",
        recurrent=True,
        reason="Recurrent shift to community health",
    )
    approved_virement(
        w,
        from_line=w.ccg_line,
        to_line=w.host_line,
        amount="5000.00",
        reason="One-off winter cover",
    )
    adjustments.adjustment_create(
        actor=w.fin_host, line=w.ph01, amount="1200.00", reason="Grant uplift", recurrent=True
    )
    adjustments.adjustment_create(
        actor=w.fin_host, line=w.host_line, amount="-3000.00", reason="One-off saving"
    )
    # LY01's 2016/17 spend pattern: M1 1,000 and M2 3,000.
    make_posting(
        organisation=w.host, line=w.ly01, document="LY-1", amount="1000.00", period_number=1
    )
    make_posting(
        organisation=w.host, line=w.ly01, document="LY-2", amount="3000.00", period_number=2
    )
    mapping(w, "CC100", "E5100", w.host_line)
    mapping(w, "CC900", "E5100", w.nr01)
    # a mapping rule: cost centres CC2..., any expense code
    mapping(w, "CC2*", "*", w.host_line, cost_centre_match="prefix", expense_code_match="any")
    return w


def roll(w, **kw):
    params = {
        "uplift_pct": "2.10",
        "efficiency_pct": "1.50",
        "service_areas": {"PH.SEX": {"uplift_pct": "3.00", "efficiency_pct": "0.75"}},
        "contribution_uplift_pct": "1.00",
        "partner_uplifts": {"TCCG": "0.50"},
    }
    params.update(kw)
    return fund_roll_forward(
        actor=kw.pop("actor", w.fin_host),
        fund=w.fund,
        year=w.next_year,
        **{k: v for k, v in params.items() if k != "actor"},
    )


def new_line(w, code):
    return BudgetLine.objects.get(fund=w.fund, year=w.next_year, code=code)


def test_columns_are_to_the_penny_and_add_up():
    cols = columns(D("12345.67"), Rates(D("2.10"), D("1.50")))
    assert (cols.uplift, cols.efficiency, cols.new) == (D("259.26"), D("185.19"), D("12419.74"))
    assert cols.prior + cols.uplift - cols.efficiency == cols.new


def test_roll_forward_carries_recurrent_budgets_with_uplift_and_efficiency(world):
    w = world
    result = roll(w)
    expected = {
        "HC01": (D("108000.00"), D("2268.00"), D("1620.00"), D("108648.00"), D("2000.00")),
        "CH01": (D("72000.00"), D("1512.00"), D("1080.00"), D("72432.00"), D("-5000.00")),
        "HC02": (D("12345.67"), D("259.26"), D("185.19"), D("12419.74"), D("0.00")),
        "LY01": (D("40000.00"), D("840.00"), D("600.00"), D("40240.00"), D("0.00")),
        "PH01": (D("37200.00"), D("1116.00"), D("279.00"), D("38037.00"), D("0.00")),
    }
    got = {
        r.line.code: (r.prior_recurrent, r.uplift, r.efficiency, r.new_budget, r.one_off_dropped)
        for r in RolledLine.objects.select_related("line")
    }
    assert got == expected
    for code, (_, _, _, new, _) in expected.items():
        line = new_line(w, code)
        assert (line.original_budget, line.changes, line.current_budget) == (new, D(0), new)
        assert sum(line.phasing) == new
        assert line.recurrent
        assert line.version == 1
    assert not BudgetLine.objects.filter(fund=w.fund, year=w.next_year, code="NR01").exists()
    assert result.prior_total == D("269545.67")
    assert result.new_total == D("271776.74")
    assert sorted((d["code"], d["kind"], d["amount"]) for d in result.dropped) == [
        ("CH01", "one_off", "-5000.00"),
        ("HC01", "one_off", "2000.00"),
        ("NR01", "line", "10000.00"),
    ]
    assert FundBudget.objects.get(fund=w.fund, year=w.next_year).status == "draft"


def test_phasing_keeps_its_method(world):
    w = world
    roll(w)
    ph01 = new_line(w, "PH01")
    # Custom months scaled in proportion to 2016/17's (9,300 in M1, M4, M7, M10 after the adjustment).
    assert ph01.phasing_method == "custom"
    assert ph01.phasing == [D("9509.25"), D(0), D(0)] * 4
    ly01 = new_line(w, "LY01")
    # Last year's pattern from 2016/17's actuals: M1 1,000 and M2 3,000.
    assert ly01.phasing_method == "last_year"
    assert ly01.phasing[:2] == [D("10060.00"), D("30180.00")]
    assert ly01.phasing[2:] == [D(0)] * 10
    hc01 = new_line(w, "HC01")
    assert hc01.phasing_method == "flat"
    assert hc01.phasing == [D("9054.00")] * 12


def test_contributions_roll_forward_with_their_own_uplift(world):
    w = world
    roll(w)
    got = {
        c.partner.code: (c.amount, c.share, [i.amount for i in c.instalments.order_by("due_date")])
        for c in Contribution.objects.filter(fund=w.fund, year=w.next_year)
    }
    assert got == {
        "TCOUNCIL": (D("606000.00"), None, [D("151500.00")] * 4),
        "TCCG": (D("402000.00"), None, [D("100500.00")] * 4),
    }


def test_ledger_mappings_and_the_agreement_are_copied_to_the_new_year(world):
    w = world
    result = roll(w)
    mapping = LedgerMapping.objects.get(year=w.next_year, cost_centre="CC100")
    assert mapping.budget_line == new_line(w, "HC01")
    assert mapping.history.first().history_user == w.fin_host
    # NR01 was dropped, so its mapping is not copied.
    assert not LedgerMapping.objects.filter(year=w.next_year, cost_centre="CC900").exists()
    agreement = RiskShareAgreement.objects.get(fund=w.fund, year=w.next_year)
    assert (agreement.rule, agreement.underspend) == ("pro_rata", "return_pro_rata")
    rule = LedgerMapping.objects.get(year=w.next_year, cost_centre="CC2*")
    assert (rule.cost_centre_match, rule.expense_code, rule.expense_code_match) == (
        "prefix",
        "*",
        "any",
    )
    assert rule.budget_line == new_line(w, "HC01")
    assert "2 ledger mappings and mapping rules copied to 2017/18." in result.notes


def test_the_roll_forward_is_recorded_with_who_and_why(world):
    w = world
    roll(w, reason="Budget-setting round, January 2017")
    setting = BudgetSetting.objects.get(fund=w.fund, year=w.next_year)
    assert (setting.uplift_pct, setting.efficiency_pct, setting.lines_carried) == (
        D("2.10"),
        D("1.50"),
        5,
    )
    record = setting.history.first()
    assert record.history_user == w.fin_host
    assert record.history_change_reason == "Budget-setting round, January 2017"
    line_record = new_line(w, "HC01").history.first()
    assert (line_record.history_user, line_record.history_change_reason) == (
        w.fin_host,
        "Rolled forward from 2016/17",
    )


def test_rolling_again_needs_replace_the_draft_and_keeps_line_ids(world):
    w = world
    roll(w)
    before = {line.code: line.pk for line in BudgetLine.objects.filter(year=w.next_year)}
    with pytest.raises(RollForwardRefused, match=r"already has 5 draft lines.*replace the draft"):
        roll(w, uplift_pct="3.00")
    assert new_line(w, "HC01").current_budget == D("108648.00")
    roll(w, uplift_pct="3.00", replace_draft=True)
    after = {line.code: line.pk for line in BudgetLine.objects.filter(year=w.next_year)}
    assert after == before
    hc01 = new_line(w, "HC01")
    # 108,000 x (1 + 3.00% - 1.50%) = 109,620.00
    assert (hc01.current_budget, hc01.version) == (D("109620.00"), 2)
    assert LedgerMapping.objects.filter(year=w.next_year).count() == 2


def test_rolling_into_an_approved_year_is_refused_and_writes_nothing(world):
    w = world
    roll(w)
    fund_budget_submit(actor=w.fin_ccg, fund=w.fund, year=w.next_year)
    fund_budget_approve(actor=w.fin_host, fund=w.fund, year=w.next_year)
    with pytest.raises(RollForwardRefused, match="2017/18 is approved"):
        roll(w, uplift_pct="9.00", replace_draft=True)
    assert new_line(w, "HC01").current_budget == D("108648.00")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"uplift_pct": "-100.01"}, "cannot be below -100%"),
        ({"efficiency_pct": "1000.01"}, "cannot be above 1000%"),
        ({"efficiency_pct": "2.555"}, "more than 2 decimal places"),
        ({"uplift_pct": "-60", "efficiency_pct": "50"}, "would make budgets negative"),
        ({"service_areas": {"XX.NONE": {"uplift_pct": "1"}}}, "Unknown service area XX.NONE"),
        ({"partner_uplifts": {"TOTHER": "1"}}, "TOTHER did not contribute"),
    ],
)
def test_bad_rates_are_refused_and_nothing_is_written(world, kw, message):
    with pytest.raises(ApplicationError, match=message):
        roll(world, **kw)
    assert not BudgetLine.objects.filter(year=world.next_year).exists()
    assert not BudgetSetting.objects.exists()
    assert not Contribution.objects.filter(year=world.next_year).exists()


def test_only_the_host_finance_officer_sets_the_budget(world):
    w = world
    with pytest.raises(NotAllowed):
        roll(w, actor=w.fin_ccg)
    with pytest.raises(NotFound):
        roll(w, actor=w.fin_outsider)
    assert not BudgetLine.objects.filter(year=w.next_year).exists()


def test_a_partner_that_ended_passes_its_lines_and_contribution_to_its_successor(world):
    from localities.models import Organisation
    from tests.factories import LocalityFactory

    w = world
    locality = LocalityFactory(gss_code="E08999999")
    w.ccg.localities.add(locality)
    Organisation.objects.filter(pk=w.ccg.pk).update(valid_to="2017-03-31")
    heir = Organisation.objects.create(
        code="TNEWCCG",
        name="New merged CCG",
        kind="ccg",
        code_system="ODS",
        valid_from="2017-04-01",
    )
    heir.localities.add(locality)
    result = roll(w, partner_uplifts={})
    assert new_line(w, "CH01").lead_commissioner == heir
    contribution = Contribution.objects.get(fund=w.fund, year=w.next_year, partner=heir)
    assert contribution.amount == D("404000.00")
    assert any("pass to New merged CCG (TNEWCCG)" in note for note in result.notes)
