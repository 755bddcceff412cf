"""Import profiles (services, API, pages), the shipped profiles, bad input refused with what to
change, and preview-then-post through the API and the command."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.urls import reverse
from rest_framework.test import APIClient

from budgets.ledger.imports import service as import_service
from budgets.ledger.profiles import ProfileError, ProfileSpec
from budgets.ledger.services import profiles as profile_service
from budgets.models import ImportProfile, LedgerImport, LedgerMapping, SpendPosting
from gmhsc.errors import NotAllowed, NotFound
from tests.budgets.factories import assert_rejected, ledger_world, profile_spec

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ledger"
SPEC = profile_spec("council-oracle", text=True, title="Our Oracle export")
NO_LINES = (FIXTURES / "no-line-numbers.csv").read_bytes()


@pytest.fixture
def w():
    return ledger_world()


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _spec(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(SPEC))
    for key, value in changes.items():
        if key == "columns":
            data["columns"].update(value)
            data["columns"] = {k: v for k, v in data["columns"].items() if v}
        else:
            data[key] = value
    return data


# ---- bad input: refused with what to change, nothing saved ----------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        (
            {"columns": {"supplier": "Amount"}},
            "supplier",
            (
                "column 'Amount' is chosen for both amount and supplier; choose a different "
                "column for one of them"
            ),
        ),
        (
            {"columns": {"amount": None}},
            "amount",
            "choose the file's column for amount",
        ),
        (
            {"line_numbers": "column"},
            "line_number",
            (
                "choose the file's column for line number within the document (or choose to "
                "number the lines of each document in file order)"
            ),
        ),
        (
            {"columns": {"cost_centre": None}},
            "cost_centre",
            (
                "choose the file's column for cost centre (or department, expense area), or "
                "give a constant"
            ),
        ),
        ({"date_format": "YYYY/DD/MM"}, "date_format", "'YYYY/DD/MM' is not a date format"),
        ({"delimiter": "regex:\\s+"}, "delimiter", "'regex:\\s+' is not a delimiter"),
        ({"expression": "amount * 1.2"}, "profile", "it has settings gmhsc does not know"),
        # Through the one text cleaner: NUL was a 500 from PostgreSQL, an object was stored.
        ({"title": "Ledger\x00"}, "title", "the title contains the NUL character (U+0000)"),
        ({"title": "Red\x1b[31m"}, "title", "control character U+001B"),
        ({"title": {"a": 1}}, "title", "the title must be text, not an object"),
        ({"line_numbers": {"a": 1}}, "line_numbers", "is not a way to find line numbers"),
    ],
)
def test_bad_profile_is_refused_saying_what_to_change(w, changes, field, text):
    with pytest.raises(ProfileError) as caught:
        profile_service.profile_create(actor=w.fin_host, organisation=w.host, data=_spec(**changes))
    assert caught.value.problems[0]["field"] == field
    assert text in caught.value.problems[0]["message"]
    assert ImportProfile.objects.count() == 0


def _upload(w: Any, data: bytes, spec: dict[str, Any], *, name: str = "export.csv", **kw: Any):
    profile = ImportProfile.objects.filter(organisation=w.host, name=spec["name"]).first()
    if profile is None:
        profile = profile_service.profile_create(actor=w.fin_host, organisation=w.host, data=spec)
    return import_service.start_import(
        actor=w.fin_host,
        organisation=w.host,
        upload=SimpleUploadedFile(name, data),
        profile=profile,
        run_now=True,
        **kw,
    )


def test_date_format_that_matches_no_row_is_refused_once_saying_which_fits(w):
    imp = _upload(w, NO_LINES, _spec(date_format="DD.MM.YYYY"))
    assert_rejected(
        imp,
        1,
        "posting_date",
        "None of the dates in column 'Date' (like '15/04/2016') is in the "
        "profile's date format DD.MM.YYYY. Change the profile's date format ('15/04/2016' is "
        "DD/MM/YYYY).",
    )


def test_amount_column_with_text_is_refused_saying_to_choose_the_amount_column(w):
    imp = _upload(w, NO_LINES, _spec(columns={"amount": "Supplier", "supplier": None}))
    assert_rejected(
        imp,
        1,
        "amount",
        "Column 'Supplier' holds no amounts (like 'Café Rouge Care Ltd'). Choose "
        "the file's column that holds the amounts in the profile.",
    )


def test_a_text_amount_among_amounts_is_refused_on_its_row(w):
    data = NO_LINES.replace(b"12000.00", b"twelve thousand")
    imp = _upload(w, data, _spec())
    assert_rejected(
        imp,
        5,
        "amount",
        "'twelve thousand' is not a number (write amounts like 1234.56, "
        "£1,234.56, (1,234.56) or 1,234.56-)",
    )


def test_xlsx_with_the_header_somewhere_else_says_which_row(w):
    spec = _spec(
        name="excel",
        file_type="xlsx",
        sheet="Spend",
        header_row=1,
        line_numbers="column",
        columns={"line_number": "Line"},
    )
    imp = _upload(w, (FIXTURES / "title-totals.xlsx").read_bytes(), spec, name="spend.xlsx")
    assert_rejected(
        imp,
        1,
        "header",
        "Row 1 is not the header: the columns the profile names are on row 3. "
        "Set the profile's header row to 3.",
    )


def test_file_without_a_column_the_profile_names(w):
    imp = _upload(w, NO_LINES.replace(b"Supplier", b"Payee"), _spec())
    assert imp.status == "rejected"
    assert imp.errors[0]["message"] == (
        "The header (row 1) has no column 'Supplier' (supplier); it has 'Doc', 'Date', "
        "'Amount', 'CC', 'EC', 'Payee', 'Description'. Choose the file's columns for these "
        "fields in the profile, or check the header row."
    )


# ---- preview, then post ---------------------------------------------------------------------------


def test_preview_posts_nothing_then_post_posts_exactly_it(w):
    imp = _upload(w, NO_LINES, _spec(), dry_run=True)
    assert imp.status == "previewed"
    assert SpendPosting.objects.count() == 0
    assert imp.preview["rows_read"] == 6
    assert imp.preview["rows_new"] == 6
    assert [(e["line"], e["period"], e["rows"], e["amount"]) for e in imp.preview["by_line"]] == [
        ("CH01", "2016/17-M01", 1, "250.00"),
        ("CH01", "2016/17-M07", 1, "0.99"),
        ("HC01", "2016/17-M01", 1, "1234.56"),
        ("HC01", "2016/17-M06", 1, "-100.25"),
        ("HC01", "2016/17-M07", 1, "12000.00"),
        ("HC01", "2016/17-M12", 1, "5.00"),
    ]
    posted = import_service.post_import(actor=w.fin_host, ledger_import=imp)
    assert posted.status == "posted"
    assert SpendPosting.objects.aggregate(t=Sum("amount"))["t"] == Decimal("13390.30")


def test_post_refuses_when_the_file_would_now_post_differently(w):
    imp = _upload(w, NO_LINES, _spec(), dry_run=True)
    LedgerMapping.objects.filter(organisation=w.host, cost_centre="CC200").update(
        budget_line=w.host_line
    )
    again = import_service.post_import(actor=w.fin_host, ledger_import=imp)
    assert again.status == "previewed"
    assert again.message.startswith("The file would now post differently from the preview")
    assert SpendPosting.objects.count() == 0
    assert {e["line"] for e in again.preview["by_line"]} == {"HC01"}
    assert import_service.post_import(actor=w.fin_host, ledger_import=again).status == "posted"


def test_post_checks_closed_periods_again(w):
    from budgets.models import FundPeriod, Period

    imp = _upload(w, NO_LINES, _spec(), dry_run=True)
    FundPeriod.objects.create(
        fund=w.fund, period=Period.objects.get(year=w.year, number=12), status="closed"
    )
    again = import_service.post_import(actor=w.fin_host, ledger_import=imp)
    assert_rejected(again, 7, "posting_date", "period 2016/17-M12 is closed for fund LP-TEST")


def test_rows_outside_the_pools_left_out_counted_and_summed(w):
    LedgerMapping.objects.filter(organisation=w.host, cost_centre="CC200").delete()
    imp = _upload(w, NO_LINES, _spec(), outside_pools="leave")
    assert imp.status == "posted"
    assert (imp.rows_posted, imp.rows_outside, imp.amount_outside) == (4, 2, Decimal("250.99"))
    assert imp.preview["outside"]["top_cost_centres"] == [
        {"cost_centre": "CC200", "rows": 2, "amount": "250.99"}
    ]
    assert imp.message == (
        "Posted 4 rows; the file's 4 rows to post total £13,139.31. 2 rows (£250.99) were left "
        "out as outside the pooled funds."
    )
    again = _upload(w, NO_LINES, _spec(), outside_pools="leave")
    assert again.status == "nothing_new"
    assert again.message.endswith(
        f"(import {imp.pk}) and all its 4 rows to post are posted, so nothing new was posted."
    )
    assert (again.rows_outside, again.amount_outside) == (2, Decimal("250.99"))
    refused = _upload(w, NO_LINES.replace(b"INV-", b"NEW-"), _spec(), outside_pools="refuse")
    assert refused.status == "rejected"
    assert refused.preview["unmapped"] == [
        {"year": "2016/17", "cost_centre": "CC200", "expense_code": "E5200", "rows": 2,
         "amount": "250.99"}
    ]  # fmt: skip


def test_command_profile_dry_run_and_outside_pools(w, tmp_path):
    profile_service.profile_create(actor=w.fin_host, organisation=w.host, data=_spec())
    LedgerMapping.objects.filter(organisation=w.host, cost_centre="CC200").delete()
    path = tmp_path / "export.csv"
    path.write_bytes(NO_LINES)
    out = io.StringIO()
    args = [str(path), "--organisation", "TCOUNCIL", "--user", "finhost", "--profile"]
    call_command(
        "import_ledger", *args, "council-oracle", "--dry-run", "--outside-pools", "leave",
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "LP-TEST HC01 2016/17-M07: 1 rows (1 new), £12,000.00" in text
    assert "Outside the pooled funds (left out): 2 rows, £250.99" in text
    assert "  cost centre CC200: 2 rows, £250.99" in text
    assert "Nothing is posted until you post it." in text
    assert SpendPosting.objects.count() == 0
    with pytest.raises(CommandError, match="problems found"):
        call_command(
            "import_ledger", *args, "council-oracle", stdout=io.StringIO(), stderr=io.StringIO()
        )
    out = io.StringIO()
    call_command("import_ledger", *args, "council-oracle", "--outside-pools", "leave", stdout=out)
    assert "Posted 4 rows" in out.getvalue()
    assert SpendPosting.objects.count() == 4
    with pytest.raises(CommandError, match="There is no import profile nope"):
        call_command("import_ledger", *args, "nope", stdout=io.StringIO())


# ---- the shipped profiles -------------------------------------------------------------------------


def test_shipped_profiles_load_idempotently_and_cannot_be_changed(w):
    assert profile_service.seed_import_profiles() == 2
    assert profile_service.seed_import_profiles() == 2
    shipped = ImportProfile.objects.filter(organisation=None).order_by("name")
    assert [p.name for p in shipped] == ["lgtc-spend-over-500", "nhs-spend-over-25k"]
    assert shipped[0].history.count() == 1
    with pytest.raises(NotAllowed, match="ships with gmhsc and cannot be changed"):
        profile_service.profile_update(actor=w.admin, profile=shipped[0], data=shipped[0].spec)
    copy = profile_service.profile_copy(
        actor=w.fin_host, profile=shipped[0], organisation=w.host, name="our-lgtc"
    )
    assert copy.organisation == w.host
    assert (
        ProfileSpec.from_data(copy.spec).columns == ProfileSpec.from_data(shipped[0].spec).columns
    )


# ---- sharing as JSON, and the API -----------------------------------------------------------------


def test_profile_json_round_trip_and_versions_in_history(w):
    made = profile_service.profile_create(actor=w.fin_host, organisation=w.host, data=_spec())
    text = profile_service.profile_export_json(made)
    other = profile_service.profile_import_json(
        actor=w.fin_ccg, organisation=w.ccg, text=text, name="from-the-council"
    )
    assert other.spec == {**made.spec, "name": "from-the-council"}
    changed = profile_service.profile_update(
        actor=w.fin_host, profile=made, data=_spec(date_format="DD.MM.YYYY")
    )
    assert [h.history_change_reason for h in changed.history.order_by("history_date")] == [
        "Import profile created",
        "Import profile changed",
    ]
    assert changed.history.order_by("history_date").first().spec["date_format"] == "DD/MM/YYYY"
    with pytest.raises(NotFound):
        profile_service.profile_update(actor=w.fin_ccg, profile=made, data=_spec())


def test_api_profiles_both_sides_export_import_and_dry_run_upload(w):
    profile_service.seed_import_profiles()
    council = api(w.fin_host)
    created = council.post("/api/v1/import-profiles/", {"spec": _spec()}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    names = {p["name"] for p in council.get("/api/v1/import-profiles/").json()["results"]}
    assert names == {"council-oracle", "lgtc-spend-over-500", "nhs-spend-over-25k"}
    ccg = api(w.fin_ccg)
    assert ccg.get(f"/api/v1/import-profiles/{pk}/").status_code == 404
    assert ccg.delete(f"/api/v1/import-profiles/{pk}/").status_code == 404
    bad = council.post(
        "/api/v1/import-profiles/", {"spec": _spec(name="other", columns={"amount": None})},
        format="json",
    )  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["problems"][0]["message"] == "choose the file's column for amount"
    exported = council.get(f"/api/v1/import-profiles/{pk}/export/")
    assert exported["Content-Disposition"] == 'attachment; filename="council-oracle.json"'
    imported = ccg.post(
        "/api/v1/import-profiles/import/",
        {"file": SimpleUploadedFile("p.json", exported.content), "name": "shared"},
        format="multipart",
    )
    assert imported.status_code == 201, imported.json()
    assert imported.json()["organisation"] == "TCCG"
    upload = council.post(
        "/api/v1/ledger-imports/",
        {"file": SimpleUploadedFile("e.csv", NO_LINES), "profile": "council-oracle",
         "dry_run": "true"},
        format="multipart",
    )  # fmt: skip
    assert upload.status_code == 201, upload.json()
    body = upload.json()
    assert (body["status"], body["profile"], body["preview"]["rows_new"]) == (
        "previewed",
        "council-oracle",
        6,
    )
    assert SpendPosting.objects.count() == 0
    assert ccg.post(f"/api/v1/ledger-imports/{body['id']}/post/").status_code == 404
    posted = council.post(f"/api/v1/ledger-imports/{body['id']}/post/")
    assert posted.status_code == 201
    assert posted.json()["status"] == "posted"
    assert council.post(f"/api/v1/ledger-imports/{body['id']}/post/").status_code == 409
    assert SpendPosting.objects.aggregate(t=Sum("amount"))["t"] == Decimal("13390.30")
    assert council.delete(f"/api/v1/import-profiles/{pk}/").status_code == 409  # used: kept


# ---- pages ----------------------------------------------------------------------------------------


def test_build_a_profile_from_a_sample_in_the_browser(client, w):
    profile_service.seed_import_profiles()
    client.force_login(w.fin_host)
    new = reverse("budgets:ledger-profile-new")
    assert b"Read the sample" in client.get(new).content
    page = client.post(
        new, {"sample": SimpleUploadedFile("export.csv", NO_LINES), "header_row": "1"}
    ).content.decode()
    assert "INV-1001 · INV-1001 · CRN-2001" in page  # the Doc column's first values
    assert 'name="sample_token"' in page
    token = page.split('name="sample_token" value="')[1].split('"')[0]
    form = {
        "sample_token": token,
        "file_type": "csv",
        "encoding": "auto",
        "delimiter": "comma",
        "header_row": "1",
        "footer_rows": "0",
        "line_numbers": "number_in_file_order",
        "date_format": "DD/MM/YYYY",
        "amounts": "amount",
        "outside_pools": "refuse",
        "name": "from-sample",
        "title": "",
        "column_document_number": "Doc",
        "column_posting_date": "Date",
        "column_amount": "Amount",
        "column_cost_centre": "CC",
        "column_expense_code": "EC",
        "column_supplier": "Supplier",
        "column_description": "Description",
    }
    shown = client.post(new, {**form, "action": "preview"}).content.decode()
    assert "The first 6 rows as gmhsc reads them" in shown
    assert "£1,234.56" in shown
    assert "LP-TEST · HC01 Home care" in shown
    assert ImportProfile.objects.filter(organisation=w.host).count() == 0  # not saved yet
    two = client.post(new, {**form, "column_supplier": "Amount", "action": "save"}).content.decode()
    assert "is chosen for both amount and supplier" in two
    saved = client.post(new, {**form, "action": "save"})
    assert saved.status_code == 302
    profile = ImportProfile.objects.get(organisation=w.host, name="from-sample")
    assert saved["Location"] == reverse("budgets:ledger-profile-detail", args=[profile.pk])
    assert "Number the lines" not in client.get(saved["Location"]).content.decode()
    client.force_login(w.fin_ccg)
    assert client.get(saved["Location"]).status_code == 404


def test_upload_through_a_profile_then_map_an_unmapped_pair_in_place_then_post(client, w):
    made = profile_service.profile_create(actor=w.fin_host, organisation=w.host, data=_spec())
    LedgerMapping.objects.filter(organisation=w.host, cost_centre="CC200").delete()
    client.force_login(w.fin_host)
    client.post(
        reverse("budgets:ledger-imports"),
        {"file": SimpleUploadedFile("e.csv", NO_LINES), "profile": str(made.pk)},
    )
    imp = LedgerImport.objects.get()
    page = client.get(reverse("budgets:ledger-import-detail", args=[imp.pk])).content.decode()
    assert "Pairs no mapping covers (1)" in page
    map_url = reverse("budgets:ledger-import-map", args=[imp.pk])
    query = "?year=2016/17&cost_centre=CC200&expense_code=E5200"
    chooser = client.get(map_url + query + "&budget_line_q=community").content.decode()
    assert "LP-TEST · CH01 Community health" in chooser
    assert "HC01" not in chooser  # the search narrows the lines
    response = client.post(
        map_url,
        {"year": "2016/17", "cost_centre": "CC200", "expense_code": "E5200",
         "budget_line": str(w.ccg_line.pk)},
    )  # fmt: skip
    assert response.status_code == 302
    imp.refresh_from_db()
    assert (imp.status, imp.error_count, imp.preview["rows_new"]) == ("previewed", 0, 6)
    client.post(reverse("budgets:ledger-import-post", args=[imp.pk]))
    assert SpendPosting.objects.aggregate(t=Sum("amount"))["t"] == Decimal("13390.30")


def test_mappings_page_rules_and_which_line(client, w):
    client.force_login(w.fin_host)
    url = reverse("budgets:ledger-mappings") + "?year=2016/17"
    made = client.post(
        url,
        {"cost_centre": "C027*", "expense_code": "*", "budget_line": str(w.ccg_line.pk)},
    )
    assert made.status_code == 302
    rule = LedgerMapping.objects.get(organisation=w.host, cost_centre="C027*")
    assert (rule.cost_centre_match, rule.expense_code_match) == ("prefix", "any")
    overlap = client.post(
        url, {"cost_centre": "C02*", "expense_code": "*", "budget_line": str(w.host_line.pk)}
    ).content.decode()
    assert "overlaps the rule cost centre starting C027, expense code any" in overlap
    answer = client.get(url + "&cost_centre=C02733&expense_code=E9").content.decode()
    assert (
        "goes to <strong>LP-TEST · CH01 Community health</strong> in 2016/17, by the rule cost "
        "centre starting C027, expense code any." in answer
    )
    exact = client.get(url + "&cost_centre=CC100&expense_code=E5100").content.decode()
    assert "by the exact mapping CC100 / E5100." in exact
    none = client.get(url + "&cost_centre=ZZ&expense_code=E9").content.decode()
    assert "No mapping or rule covers cost centre ZZ, expense code E9 in 2016/17" in none
