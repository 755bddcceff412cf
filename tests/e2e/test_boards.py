"""A board member signs in, opens the finance dashboard, downloads the pack and reads it."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfReader

from boards import services
from boards.models import Board, Membership
from localities import roles
from tests.boards.factories import BoardFactory, MeetingFactory, MembershipFactory, pdf_bytes
from tests.boards.snapshots import seed_snapshots
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery"


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    board = BoardFactory(
        code="JCB",
        name="Greater Manchester Joint Commissioning Board",
        kind=Board.Kind.JOINT_COMMISSIONING,
    )
    chair = MembershipFactory(board=board, role=Membership.Role.CHAIR).person
    member = MembershipFactory(
        board=board, person=UserFactory(username="e2e.member", roles=[roles.BOARD_MEMBER])
    ).person
    seed_snapshots(board)
    meeting = MeetingFactory(
        board=board,
        title="October meeting",
        starts_at=timezone.make_aware(dt.datetime(2016, 10, 12, 14)),
    )
    services.agenda_item_add(
        actor=chair,
        meeting=meeting,
        title="Finance report",
        purpose="assurance",
        paper=SimpleUploadedFile("f.pdf", pdf_bytes(2, "FINANCE"), content_type="application/pdf"),
    )
    pack = services.pack_request(actor=chair, meeting=meeting)  # autocommit: built at once (eager)
    pack.refresh_from_db()
    assert pack.status == "ready", pack.error
    return board, member, meeting, pack


def test_member_downloads_pack_with_variance_and_numbering(world, live_server, page):
    board, member, meeting, _pack = world
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.goto(f"{live_server.url}/boards/{board.pk}/dashboard/")
    assert page.locator("h1").inner_text() == "Finance dashboard"
    assert page.locator("td[data-fund='GM-TEST']").inner_text() == "£84,000"
    assert "Figures as at" in page.locator("#freshness").inner_text()
    page.goto(f"{live_server.url}/boards/meetings/{meeting.pk}/")
    with page.expect_download() as info:
        page.click("text=Download board pack version 1")
    with open(info.value.path(), "rb") as handle:
        data = handle.read()
    reader = PdfReader(io.BytesIO(data))
    texts = [p.extract_text() for p in reader.pages]
    total = len(texts)
    joined = "\n".join(texts)
    assert re.search(r"Forecast variance\s+£84,000", joined)
    assert f"Page 1 of {total}" in texts[0]
    assert f"Page {total} of {total}" in texts[-1]
    assert "FINANCE page 2" in texts[-1]
