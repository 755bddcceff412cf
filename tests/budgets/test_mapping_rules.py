"""Mapping rules: exact, prefix, range and any; the most specific wins; ambiguous rules refused
when saved; the API; copying an organisation's mappings and rules to another year."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from budgets.ledger.mapping_rules import PatternError, RuleBook, parse_pattern
from budgets.ledger.services import mappings as mapping_service
from budgets.models import LedgerMapping
from gmhsc.errors import ApplicationError, NotFound
from tests.budgets.factories import BudgetLineFactory, ledger_world, make_year

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "kind", "matches", "misses"),
    [
        ("C02733", "exact", ["C02733"], ["C027331", "c02733"]),
        ("C027*", "prefix", ["C027", "C02733"], ["C028", "XC027"]),
        ("5140-5199", "range", ["5140", "5150", "5199", "05150"], ["5139", "5200", "E5150"]),
        ("E5140-E5199", "range", ["E5140", "E5199", "E5150"], ["E515", "E5200", "F5150"]),
        ("*", "any", ["", "anything"], []),
        ("C027-01", "exact", ["C027-01"], ["C027"]),  # ends of different lengths: a code
    ],
)
def test_patterns_read_from_the_code(text, kind, matches, misses):
    pattern = parse_pattern(text)
    assert pattern.kind == kind
    assert all(pattern.matches(code) for code in matches)
    assert not any(pattern.matches(code) for code in misses)


def test_patterns_that_make_no_sense_say_what_to_write():
    with pytest.raises(PatternError, match="starts above where it ends"):
        parse_pattern("5199-5140", "range")
    with pytest.raises(PatternError, match="different lengths"):
        parse_pattern("A1-B22", "range", label="cost centre")
    with pytest.raises(PatternError, match="choose 'starting with'"):
        parse_pattern("C0*27", "exact")


def _mapping(w, cc, ec, line, cc_match=None, ec_match=None):
    return mapping_service.mapping_set(
        actor=w.fin_host,
        organisation=w.host,
        year=w.year,
        cost_centre=cc,
        expense_code=ec,
        cost_centre_match=cc_match,
        expense_code_match=ec_match,
        budget_line=line,
    )


def test_most_specific_rule_wins_cost_centre_first():
    w = ledger_world()
    other = BudgetLineFactory(fund=w.fund, year=w.year, code="OT01", service_area=w.area)
    _mapping(w, "*", "*", other)  # any / any
    _mapping(w, "C027*", "*", w.ccg_line)  # prefix / any
    _mapping(w, "C0300-C0399", "*", w.host_line)  # range / any
    _mapping(w, "*", "5140-5199", other)  # any / range
    book = RuleBook(LedgerMapping.objects.filter(organisation=w.host, year=w.year))
    assert book.find("CC100", "E5100").budget_line == w.host_line  # exact
    assert book.find("C0271", "E1").budget_line == w.ccg_line  # prefix beats any
    assert book.find("C0271", "5150").budget_line == w.ccg_line  # cost centre decides first
    assert book.find("C0350", "5150").budget_line == w.host_line  # range beats any
    assert book.find("C0271", "E9").budget_line == w.ccg_line
    assert book.find("ZZ", "5150").budget_line == other  # any / range beats any / any
    assert book.find("ZZ", "E1").budget_line == other
    found = mapping_service.which_line(
        organisation=w.host, year=w.year, cost_centre="C0350", expense_code="5150"
    )
    assert found.rule == "the rule cost centre from C0300 to C0399, expense code any"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("C02*", "*"), ("C027*", "*")),
        (("5100-5199", "E1"), ("5150-5250", "E1")),
        (("*", "E5*"), ("*", "E51*")),
        (("C02*", "E5100"), ("C0*", "E5100")),
    ],
)
def test_overlapping_rules_of_the_same_precedence_are_refused(first, second):
    w = ledger_world()
    _mapping(w, *first, w.ccg_line)
    with pytest.raises(ApplicationError, match="both are as specific"):
        _mapping(w, *second, w.host_line)
    assert LedgerMapping.objects.filter(organisation=w.host, year=w.year).count() == 3


def test_rules_that_do_not_overlap_or_differ_in_precedence_are_kept():
    w = ledger_world()
    _mapping(w, "C027*", "*", w.ccg_line)
    _mapping(w, "C028*", "*", w.host_line)  # another prefix
    _mapping(w, "C0271-C0279", "*", w.host_line)  # a range: more specific
    _mapping(w, "C027*", "E5*", w.host_line)  # prefix / prefix: more specific
    again = _mapping(w, "C027*", "*", w.host_line)  # the same rule: re-pointed
    assert again.budget_line == w.host_line
    assert LedgerMapping.objects.filter(organisation=w.host, year=w.year).count() == 6


def test_api_rules_and_which_both_sides():
    w = ledger_world()
    council = APIClient()
    council.force_authenticate(w.fin_host)
    made = council.post(
        "/api/v1/ledger-mappings/",
        {"cost_centre": "5100-5199", "expense_code": "*", "budget_line": w.ccg_line.pk},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["cost_centre_match"], made.json()["expense_code_match"]) == (
        "range",
        "any",
    )
    clash = council.post(
        "/api/v1/ledger-mappings/",
        {"cost_centre": "5150-5250", "expense_code": "*", "budget_line": w.host_line.pk},
        format="json",
    )
    assert clash.status_code == 400
    assert "overlaps the rule cost centre from 5100 to 5199" in clash.json()["detail"]
    which = council.get(
        "/api/v1/ledger-mappings/which/?cost_centre=5150&expense_code=X&year=2016/17"
    ).json()
    assert (which["mapped"], which["budget_line_code"], which["fund"]) == (True, "CH01", "LP-TEST")
    assert which["rule"] == "the rule cost centre from 5100 to 5199, expense code any"
    ccg = APIClient()
    ccg.force_authenticate(w.fin_ccg)
    # The CCG's own rules only: the council's range does not map the CCG's pairs.
    assert (
        ccg.get("/api/v1/ledger-mappings/which/?cost_centre=5150&expense_code=X").json()["mapped"]
        is False
    )


def test_copy_mappings_and_rules_to_the_next_year():
    w = ledger_world()
    _mapping(w, "C027*", "*", w.ccg_line)
    next_year = make_year("2017/18")
    BudgetLineFactory(fund=w.fund, year=next_year, code="HC01", service_area=w.area)
    ch01 = BudgetLineFactory(fund=w.fund, year=next_year, code="CH01", service_area=w.area)
    result = mapping_service.mappings_copy_to_year(
        actor=w.fin_host, organisation=w.host, from_year=w.year, to_year=next_year
    )
    assert len(result.copied) == 3
    copied = LedgerMapping.objects.filter(organisation=w.host, year=next_year)
    rule = copied.get(cost_centre="C027*")
    assert (rule.cost_centre_match, rule.budget_line) == ("prefix", ch01)
    assert rule.history.first().history_change_reason == "Copied from 2016/17"
    again = mapping_service.mappings_copy_to_year(
        actor=w.fin_host, organisation=w.host, from_year=w.year, to_year=next_year
    )
    assert (len(again.copied), len(again.unchanged), again.skipped) == (0, 3, [])
    ch01.code = "CH02"
    ch01.save()
    LedgerMapping.objects.filter(year=next_year).delete()
    partial = mapping_service.mappings_copy_to_year(
        actor=w.fin_host, organisation=w.host, from_year=w.year, to_year=next_year
    )
    assert len(partial.copied) == 1
    assert sorted(why for _m, why in partial.skipped) == [
        "2017/18 has no line CH01 in fund LP-TEST",
        "2017/18 has no line CH01 in fund LP-TEST",
    ]
    with pytest.raises(NotFound):
        mapping_service.mappings_copy_to_year(
            actor=w.fin_ccg, organisation=w.host, from_year=w.year, to_year=next_year
        )
