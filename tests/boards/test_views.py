from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from boards import services
from tests.boards.factories import ActionItemFactory, AgendaItemFactory, MeetingFactory, pdf_bytes


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def items(jcb_setup):
    s = jcb_setup
    public = services.agenda_item_add(
        actor=s["chair"],
        meeting=s["meeting"],
        title="Public finance report",
        purpose="assurance",
        paper=SimpleUploadedFile("p.pdf", pdf_bytes(1, "PUBLIC"), content_type="application/pdf"),
    )
    private = services.agenda_item_add(
        actor=s["chair"],
        meeting=s["meeting"],
        title="Confidential contract award",
        purpose="decision",
        is_private=True,
        paper=SimpleUploadedFile("c.pdf", pdf_bytes(1, "SECRET"), content_type="application/pdf"),
    )
    return s, public, private


def assert_csp_clean(html: str) -> None:
    assert " style=" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag, tag


def test_member_sees_meeting_but_not_private_items_when_non_voting(client, items):
    s, public, private = items
    url = reverse("boards:meeting-detail", args=[s["meeting"].pk])
    client.force_login(s["observer"])
    html = client.get(url).content.decode()
    assert "Public finance report" in html
    assert "Confidential contract award" not in html
    assert client.get(reverse("boards:item-paper", args=[private.pk])).status_code == 404
    assert client.get(reverse("boards:item-paper", args=[public.pk])).status_code == 200
    assert_csp_clean(html)


@pytest.mark.parametrize("who", ["member", "officer", "chair"])
def test_voting_members_and_officers_see_private_items(client, items, who):
    s, _public, private = items
    client.force_login(s[who])
    html = client.get(reverse("boards:meeting-detail", args=[s["meeting"].pk])).content.decode()
    assert "Confidential contract award" in html
    resp = client.get(reverse("boards:item-paper", args=[private.pk]))
    assert resp.status_code == 200
    assert b"".join(resp.streaming_content).startswith(b"%PDF-")


def test_outsider_gets_404_everywhere(client, items):
    s, public, _private = items
    client.force_login(s["outsider"])
    board, meeting = s["board"], s["meeting"]
    for url in [
        reverse("boards:board-detail", args=[board.pk]),
        reverse("boards:dashboard", args=[board.pk]),
        reverse("boards:chart", args=[board.pk, "trend"]),
        reverse("boards:decision-register", args=[board.pk]),
        reverse("boards:interest-register", args=[board.pk]),
        reverse("boards:meeting-detail", args=[meeting.pk]),
        reverse("boards:item-paper", args=[public.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("boards:pack-build", args=[meeting.pk])).status_code == 404
    assert (
        client.post(
            reverse("boards:decision-add", args=[meeting.pk]), {"text": "x", "outcome": "noted"}
        ).status_code
        == 404
    )


def test_board_list_shows_only_own_boards(client, jcb_setup, chain):
    client.force_login(jcb_setup["member"])
    html = client.get(reverse("boards:board-list")).content.decode()
    assert "Greater Manchester Joint Commissioning Board" in html
    assert "Manchester Joint Commissioning Executive" not in html


def test_member_cannot_manage(client, items):
    s, *_ = items
    client.force_login(s["member"])
    resp = client.post(
        reverse("boards:decision-add", args=[s["meeting"].pk]),
        {"text": "x", "outcome": "noted"},
        follow=True,
    )
    assert "Only the chair, vice-chair or an officer" in resp.content.decode()


def test_chair_records_decision_above_limit_and_sees_message(client, items):
    s, *_ = items
    client.force_login(s["chair"])
    resp = client.post(
        reverse("boards:decision-add", args=[s["meeting"].pk]),
        {"text": "Big award", "outcome": "approved", "amount": "60000000"},
        follow=True,
    )
    assert (
        "the Greater Manchester Strategic Partnership Board must take this decision"
        in resp.content.decode()
    )


def test_overdue_and_carried_forward_actions(client, jcb_setup):
    s = jcb_setup
    earlier = MeetingFactory(
        board=s["board"],
        starts_at=s["meeting"].starts_at - dt.timedelta(days=35),
        title="September",
    )
    ActionItemFactory(
        meeting=earlier,
        owner=s["member"],
        description="Open from September",
        due_date=dt.date(2016, 9, 30),
    )
    ActionItemFactory(
        meeting=earlier,
        owner=s["member"],
        description="Done long ago",
        due_date=dt.date(2016, 8, 1),
        status="done",
        completed_at=earlier.starts_at - dt.timedelta(days=40),
    )
    ActionItemFactory(
        meeting=s["meeting"],
        owner=s["member"],
        description="Future one",
        due_date=dt.date(2099, 1, 1),
    )
    client.force_login(s["member"])
    html = client.get(reverse("boards:meeting-detail", args=[s["meeting"].pk])).content.decode()
    assert "Open from September" in html
    assert "carried forward" in html
    assert "Done long ago" not in html
    assert html.count('<span class="app-overdue">Overdue</span>') == 1


def test_action_numbering_and_owner_must_be_member(jcb_setup):
    s = jcb_setup
    a = services.action_create(
        actor=s["chair"],
        meeting=s["meeting"],
        description="x",
        owner=s["member"],
        due_date=dt.date(2016, 11, 1),
    )
    b = services.action_create(
        actor=s["chair"],
        meeting=s["meeting"],
        description="y",
        owner=s["officer"],
        due_date=dt.date(2016, 11, 1),
    )
    assert (a.reference, b.reference) == ("JCB/A/2016/001", "JCB/A/2016/002")
    from gmhsc.errors import ApplicationError

    with pytest.raises(ApplicationError, match="owner must be a member"):
        services.action_create(
            actor=s["chair"],
            meeting=s["meeting"],
            description="z",
            owner=s["outsider"],
            due_date=dt.date(2016, 11, 1),
        )


def test_pack_build_download_and_public_version(client, items, django_capture_on_commit_callbacks):
    s, *_ = items
    client.force_login(s["chair"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("boards:pack-build", args=[s["meeting"].pk]))
    pack = s["meeting"].packs.get()
    assert pack.status == "ready"
    status = client.get(reverse("boards:pack-status", args=[pack.pk])).content.decode()
    assert "Download board pack version 1" in status
    assert "hx-get" not in status
    full = b"".join(client.get(reverse("boards:pack-download", args=[pack.pk])).streaming_content)
    client.force_login(s["observer"])
    public = b"".join(client.get(reverse("boards:pack-download", args=[pack.pk])).streaming_content)
    assert len(full) > 0
    assert len(public) > 0
    assert full != public
    client.force_login(s["outsider"])
    assert client.get(reverse("boards:pack-download", args=[pack.pk])).status_code == 404


def test_pack_status_polls_while_building(client, jcb_setup):
    from boards.models import BoardPack

    s = jcb_setup
    pack = BoardPack.objects.create(
        meeting=s["meeting"],
        version=1,
        requested_by=s["chair"],
        status="building",
        progress=40,
        stage="Rendering",
    )
    client.force_login(s["member"])
    html = client.get(reverse("boards:pack-status", args=[pack.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert 'value="40"' in html
    assert "Refresh to see progress" in html


def test_gift_check_page(client, jcb_setup):
    client.force_login(jcb_setup["member"])
    resp = client.post(
        reverse("boards:my-gifts"),
        {
            "kind": "hospitality",
            "description": "Dinner",
            "offered_by": "Acme",
            "value": "80",
            "offered_on": "2016-09-01",
            "check": "1",
        },
    )
    assert (
        "Hospitality over £75 should be refused unless a senior manager approves it."
        in resp.content.decode()
    )


def test_agenda_item_factory_order(jcb_setup):
    item = AgendaItemFactory(meeting=jcb_setup["meeting"], order=7)
    assert str(item).startswith("7.")


def test_every_board_page_is_csp_clean_for_the_chair(client, items):
    s, *_ = items
    client.force_login(s["chair"])
    board, meeting = s["board"], s["meeting"]
    for url in [
        reverse("boards:board-list"),
        reverse("boards:board-detail", args=[board.pk]),
        reverse("boards:meeting-detail", args=[meeting.pk]),
        reverse("boards:dashboard", args=[board.pk]),
        reverse("boards:decision-register", args=[board.pk]),
        reverse("boards:interest-register", args=[board.pk]),
        reverse("boards:my-interests"),
        reverse("boards:my-gifts"),
    ]:
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert_csp_clean(resp.content.decode())


def test_decisions_on_private_items_hidden_from_non_voting_members(client, items):
    s, public, private = items
    services.decision_record(
        actor=s["chair"], meeting=s["meeting"], item=private, text="Secret award", outcome="noted"
    )
    services.decision_record(
        actor=s["chair"], meeting=s["meeting"], item=public, text="Open decision", outcome="noted"
    )
    client.force_login(s["observer"])
    html = client.get(reverse("boards:decision-register", args=[s["board"].pk])).content.decode()
    assert "Open decision" in html
    assert "Secret award" not in html
    client.force_login(s["member"])
    html = client.get(reverse("boards:decision-register", args=[s["board"].pk])).content.decode()
    assert "Secret award" in html


def test_agenda_shows_each_papers_page_in_the_pack(
    client, items, django_capture_on_commit_callbacks
):
    s, public, private = items
    with django_capture_on_commit_callbacks(execute=True):
        services.pack_request(actor=s["chair"], meeting=s["meeting"])
    pack = s["meeting"].packs.get()
    full = pack.snapshot["paper_pages"]["full"]
    public_starts = pack.snapshot["paper_pages"]["public"]
    assert full[str(private.pk)] == full[str(public.pk)] + 1
    assert str(private.pk) not in public_starts
    client.force_login(s["member"])
    html = client.get(reverse("boards:meeting-detail", args=[s["meeting"].pk])).content.decode()
    assert f"page {full[str(private.pk)]} of pack version 1" in html
    client.force_login(s["observer"])
    html = client.get(reverse("boards:meeting-detail", args=[s["meeting"].pk])).content.decode()
    assert f"page {public_starts[str(public.pk)]} of pack version 1" in html
