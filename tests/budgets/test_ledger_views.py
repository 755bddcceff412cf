"""Ledger pages: upload and follow an import, read its problems, keep mappings; others get 404."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from budgets.models import LedgerImport, LedgerMapping, SpendPosting
from tests.budgets.factories import ledger_csv, ledger_world

pytestmark = pytest.mark.django_db

GOOD = ["TCOUNCIL,P-1,1,2016-04-15,CC100,E5100,1200.50,Acme Care Ltd,April"]
BAD = [
    'TCOUNCIL,P-2,1,2016-04-15,CC100,E5100,"1,2x",Acme,x',
    "TCOUNCIL,P-3,1,2016-04-15,CC999,E5100,1.00,Acme,x",
]


@pytest.fixture
def w():
    return ledger_world()


def test_upload_previews_then_posts_and_shows_the_summary(client, w):
    client.force_login(w.fin_host)
    page = client.get(reverse("budgets:ledger-imports"))
    assert page.status_code == 200
    assert b"organisation,document_number,line_number" in page.content
    response = client.post(
        reverse("budgets:ledger-imports"), {"file": SimpleUploadedFile("l.csv", ledger_csv(GOOD))}
    )
    imp = LedgerImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("budgets:ledger-import-detail", args=[imp.pk])
    preview = client.get(response["Location"]).content.decode()
    assert "Ready to post 1 row (£1,200.50 in all 1 row to post)." in preview
    assert "HC01 Home care" in preview  # by fund, line and month
    assert ">Post 1 row</button>" in preview
    assert SpendPosting.objects.count() == 0  # nothing until "Post"
    response = client.post(reverse("budgets:ledger-import-post", args=[imp.pk]))
    assert response.status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "Posted 1 row" in detail
    assert "LP-TEST" in detail
    assert "2016/17-M01" in detail
    assert "£1,200.50" in detail
    assert 'hx-trigger="every 2s"' not in detail  # finished: no polling
    assert SpendPosting.objects.count() == 1


def test_rejected_import_lists_every_problem_and_offers_the_csv(client, w):
    client.force_login(w.fin_host)
    client.post(
        reverse("budgets:ledger-imports"), {"file": SimpleUploadedFile("l.csv", ledger_csv(BAD))}
    )
    imp = LedgerImport.objects.get()
    detail = client.get(reverse("budgets:ledger-import-detail", args=[imp.pk])).content.decode()
    assert "Problems (2)" in detail
    assert ">Post " not in detail
    assert "Pairs no mapping covers (1)" in detail
    assert "&#x27;1,2x&#x27; is not a number" in detail
    assert "no ledger mapping for cost centre &#x27;CC999&#x27;" in detail
    csv_response = client.get(reverse("budgets:ledger-import-errors", args=[imp.pk]))
    assert csv_response.content.decode().splitlines() == [
        "row,column,problem",
        "2,amount,\"'1,2x' is not a number\"",
        "3,cost_centre,no ledger mapping for cost centre 'CC999' and expense code 'E5100' in 2016/17",
    ]
    assert SpendPosting.objects.count() == 0


def test_refused_file_shows_the_reason_on_the_form(client, w):
    client.force_login(w.fin_host)
    response = client.post(
        reverse("budgets:ledger-imports"), {"file": SimpleUploadedFile("l.csv", b"\x00\x01binary")}
    )
    assert response.status_code == 200
    assert b"not a CSV text file" in response.content
    assert LedgerImport.objects.count() == 0


def test_pending_import_polls_and_has_a_refresh_link(client, w):
    imp = LedgerImport.objects.create(
        organisation=w.host,
        uploaded_by=w.fin_host,
        original_name="big.csv",
        rows_total=200_000,
        rows_checked=50_000,
        status="checking",
    )
    client.force_login(w.fin_host)
    detail = client.get(reverse("budgets:ledger-import-detail", args=[imp.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in detail
    assert reverse("budgets:ledger-import-progress", args=[imp.pk]) in detail
    assert ">Refresh</a>" in detail
    assert "50000 of 200000 (25%)" in detail
    partial = client.get(reverse("budgets:ledger-import-progress", args=[imp.pk])).content.decode()
    assert partial.startswith('<div id="import-progress"')


def test_other_organisations_import_is_404_and_commissioner_cannot_upload(client, w):
    imp = LedgerImport.objects.create(
        organisation=w.host, uploaded_by=w.fin_host, original_name="l.csv", status="posted"
    )
    client.force_login(w.fin_ccg)
    for name in ("ledger-import-detail", "ledger-import-progress", "ledger-import-errors"):
        assert client.get(reverse(f"budgets:{name}", args=[imp.pk])).status_code == 404
    client.force_login(w.comm_host)
    page = client.get(reverse("budgets:ledger-imports"))
    assert page.status_code == 200
    assert b"Upload and check" not in page.content
    response = client.post(
        reverse("budgets:ledger-imports"), {"file": SimpleUploadedFile("l.csv", ledger_csv(GOOD))}
    )
    assert response.status_code == 404
    assert SpendPosting.objects.count() == 0


def test_mapping_page_add_and_remove(client, w):
    client.force_login(w.fin_ccg)
    page = client.get(reverse("budgets:ledger-mappings"))
    assert b"CC300" in page.content
    response = client.post(
        reverse("budgets:ledger-mappings") + "?year=2016/17",
        {"cost_centre": "CC301", "expense_code": "E9", "budget_line": str(w.ccg_line.pk)},
    )
    assert response.status_code == 302
    mapping = LedgerMapping.objects.get(organisation=w.ccg, cost_centre="CC301")
    assert mapping.budget_line == w.ccg_line
    assert mapping.history.first().history_user == w.fin_ccg
    host_mapping = LedgerMapping.objects.filter(organisation=w.host).first()
    assert (
        client.post(reverse("budgets:ledger-mapping-delete", args=[host_mapping.pk])).status_code
        == 404
    )
    client.post(reverse("budgets:ledger-mapping-delete", args=[mapping.pk]))
    assert not LedgerMapping.objects.filter(pk=mapping.pk).exists()


def test_mapping_page_shows_fifty_a_page_in_code_order(client, w):
    LedgerMapping.objects.bulk_create(
        LedgerMapping(
            organisation=w.ccg,
            year=w.year,
            cost_centre=f"CC{400 + i}",
            expense_code="E1",
            budget_line=w.ccg_line,
        )
        for i in range(54)
    )  # with CC300: 55 mappings
    client.force_login(w.fin_ccg)
    first = client.get(reverse("budgets:ledger-mappings"), {"year": w.year.code}).content.decode()
    assert "Mappings (55)" in first
    assert "Page 1 of 2" in first
    assert first.count(">Remove<") == 50
    assert "CC300" in first
    assert "CC448" in first
    assert "CC449" not in first
    second = client.get(
        reverse("budgets:ledger-mappings"), {"year": w.year.code, "page": 2}
    ).content.decode()
    assert "Page 2 of 2" in second
    assert second.count(">Remove<") == 5
    assert "CC449" in second
    assert "CC453" in second
    assert "CC300" not in second


def test_mapping_page_names_rules_in_words_and_escapes_what_it_shows(client, w):
    Match = LedgerMapping.Match
    LedgerMapping.objects.bulk_create(
        [
            LedgerMapping(
                organisation=w.ccg, year=w.year, cost_centre="C02", expense_code="*",
                cost_centre_match=Match.PREFIX, expense_code_match=Match.ANY,
                budget_line=w.ccg_line,
            ),
            LedgerMapping(
                organisation=w.ccg, year=w.year, cost_centre="<b>CC</b>", expense_code="E1",
                budget_line=w.ccg_line,
            ),
        ]
    )  # fmt: skip
    client.force_login(w.fin_ccg)
    page = client.get(reverse("budgets:ledger-mappings"), {"year": w.year.code}).content.decode()
    assert 'C02 <span class="govuk-hint govuk-!-display-inline">(starting with)</span>' in page
    assert '* <span class="govuk-hint govuk-!-display-inline">(any code)</span>' in page
    assert "CC300</td>" in page  # an exact code has no words after it
    assert "&lt;b&gt;CC&lt;/b&gt;" in page
    assert "<b>CC</b>" not in page
    assert f"{w.ccg_line.fund.code}</td>" in page
    assert f"{w.ccg_line.code} {w.ccg_line.name}</td>" in page


def _mapping_form(page: str) -> str:
    """The page's "Add or change a mapping or rule" form, without its CSRF token."""
    form = re.search(r"Add or change a mapping or rule</h2>(.*?)</form>", page, re.S)
    assert form
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", form.group(1))


def test_the_blank_mapping_form_is_made_once_a_year_and_is_the_same_for_everyone(client, w):
    key = make_template_fragment_key("ledger_mapping_form", [w.year.code])
    cache.delete(key)
    url = reverse("budgets:ledger-mappings")
    client.force_login(w.fin_host)
    host_form = _mapping_form(client.get(url, {"year": w.year.code}).content.decode())
    assert cache.get(key) is not None
    assert 'name="cost_centre"' in host_form
    assert f"/budgets/lines/search/?year={w.year.code}" in unescape(host_form)
    client.force_login(w.fin_ccg)
    assert _mapping_form(client.get(url, {"year": w.year.code}).content.decode()) == host_form
    cache.delete(key)  # made again, not read: the same markup
    assert _mapping_form(client.get(url, {"year": w.year.code}).content.decode()) == host_form
    refused = client.post(f"{url}?year={w.year.code}", {"cost_centre": "", "expense_code": "E1"})
    assert "Enter a cost centre" in _mapping_form(refused.content.decode())


def test_commissioner_sees_mappings_but_cannot_change_them(client, w):
    client.force_login(w.comm_ccg)
    page = client.get(reverse("budgets:ledger-mappings"))
    assert page.status_code == 200
    assert b"Save mapping" not in page.content
    response = client.post(
        reverse("budgets:ledger-mappings"),
        {"cost_centre": "X", "expense_code": "Y", "budget_line": str(w.ccg_line.pk)},
    )
    assert response.status_code == 404


def test_finance_officer_reverses_a_posting_from_the_line_page(client, w):
    from decimal import Decimal

    from tests.budgets.factories import make_posting

    posting = make_posting(
        organisation=w.host, line=w.host_line, document="P-1", amount="1200.50", period_number=6
    )
    line_page = reverse("budgets:line-detail", args=[w.host_line.pk])
    reverse_page = reverse("budgets:posting-reverse", args=[posting.pk])
    client.force_login(w.fin_host)
    assert f'href="{reverse_page}"' in client.get(line_page).content.decode()
    form = client.get(reverse_page).content.decode()
    assert "Reverse posting P-1/1" in form
    assert "£1,200.50" in form

    # A reason is required; nothing is posted without one.
    page = client.post(reverse_page, {"reason": " ", "period": ""}).content.decode()
    assert "Say why the posting is reversed." in page
    assert 'id="reason-error"' in page
    assert not SpendPosting.objects.filter(reverses=posting).exists()

    response = client.post(reverse_page, {"reason": "Wrong cost centre", "period": ""})
    assert response.status_code == 302
    assert response["Location"] == f"{line_page}#postings-heading"
    reversal = SpendPosting.objects.get(reverses=posting)
    assert (
        reversal.document_number,
        reversal.line_number,
        reversal.amount,
        reversal.period.code,
        reversal.description,
        reversal.created_by,
    ) == (
        "REV-P-1",
        1,
        Decimal("-1200.50"),
        "2016/17-M06",
        "Reversal of P-1/1: Wrong cost centre",
        w.fin_host,
    )
    page = client.get(response["Location"]).content.decode()
    assert "Posted REV-P-1/1, (£1,200.50) in 2016/17-M06, reversing P-1/1." in page
    assert "Reversed by REV-P-1 in 2016/17-M06" in page
    assert f'href="{reverse_page}"' not in page  # reversed once only
    assert f'data-reverse="{reversal.pk}"' not in page  # a reversal is not reversed

    # Asking again: the page explains, and a second post is refused.
    assert "was reversed by REV-P-1/1 in 2016/17-M06" in client.get(reverse_page).content.decode()
    again = client.post(reverse_page, {"reason": "again", "period": ""}).content.decode()
    assert "was already reversed by REV-P-1" in again
    assert SpendPosting.objects.filter(reverses=posting).count() == 1


def test_reversal_goes_into_the_month_chosen_and_refuses_another_year(client, w):
    from tests.budgets.factories import make_posting

    posting = make_posting(
        organisation=w.host, line=w.host_line, document="P-2", amount="80.00", period_number=3
    )
    reverse_page = reverse("budgets:posting-reverse", args=[posting.pk])
    client.force_login(w.fin_host)
    page = client.post(
        reverse_page, {"reason": "Duplicate invoice", "period": "2015/16-M03"}
    ).content.decode()
    assert "A reversal goes into 2016/17, not 2015/16-M03." in page
    assert 'id="period-error"' in page
    client.post(reverse_page, {"reason": "Duplicate invoice", "period": "2016/17-M08"})
    assert SpendPosting.objects.get(reverses=posting).period.code == "2016/17-M08"


def test_only_the_postings_finance_officers_and_administrators_may_reverse(client, w):
    from tests.budgets.factories import make_posting

    posting = make_posting(organisation=w.host, line=w.host_line, document="P-3", amount="5.00")
    line_page = reverse("budgets:line-detail", args=[w.host_line.pk])
    reverse_page = reverse("budgets:posting-reverse", args=[posting.pk])
    # The CCG's finance officer sees the partner's posting on the shared fund but may not reverse
    # it; the host's commissioner sees no corrections column at all.
    for user in (w.fin_ccg, w.comm_host):
        client.force_login(user)
        assert f'href="{reverse_page}"' not in client.get(line_page).content.decode()
        assert client.get(reverse_page).status_code == 403
        assert client.post(reverse_page, {"reason": "x"}).status_code == 403
    client.force_login(w.comm_host)
    assert "Correction" not in client.get(line_page).content.decode()
    client.force_login(w.fin_outsider)
    assert client.post(reverse_page, {"reason": "x"}).status_code == 404
    assert not SpendPosting.objects.filter(reverses=posting).exists()
    client.force_login(w.admin)
    assert f'href="{reverse_page}"' in client.get(line_page).content.decode()
    assert client.post(reverse_page, {"reason": "Posted in error"}).status_code == 302
    assert SpendPosting.objects.filter(reverses=posting).count() == 1
