from __future__ import annotations

import pytest

from boards import demo as boards_demo
from boards.demo_meetings import seed
from boards.models import (
    ActionItem,
    AgendaItem,
    Decision,
    Declaration,
    GiftHospitality,
    Interest,
    Meeting,
)
from localities import demo as localities_demo


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def counts():
    return [
        m.objects.count()
        for m in (Meeting, AgendaItem, Decision, Declaration, Interest, GiftHospitality, ActionItem)
    ]


def test_demo_meetings_seed_is_idempotent_and_deterministic(reference):
    localities_demo.seed_users()
    boards_demo.seed_memberships()
    lines = list(seed())
    assert lines[-2] == "board meetings: 12 new, 12 in all"
    assert lines[-1] == (
        "board packs: JCB March meeting v1 to build after the server starts (seed_demo --fill-in)"
    )
    first = counts()
    refs = sorted(Decision.objects.values_list("reference", flat=True))
    assert refs[:3] == ["JCB/2016/001", "JCB/2016/002", "JCB/2016/003"]
    assert Meeting.objects.filter(status="minutes_approved").count() == 11
    assert Meeting.objects.filter(status="planned").count() == 1
    # the chair's cancer interest ended 31 August 2016: declared in June, not in December
    june = Meeting.objects.get(board__code="JCB", title="June meeting")
    dec = Meeting.objects.get(board__code="JCB", title="December meeting")
    assert june.declarations.filter(person__username="board.chair").count() == 1
    assert dec.declarations.filter(person__username="board.chair").count() == 0
    assert dec.declarations.filter(person__username="board.manchester").count() == 1
    again = list(seed())
    assert again[-2:] == ["board meetings: 0 new, 12 in all", "board packs: 1 already asked for"]
    assert counts() == first


def test_the_demo_pack_is_built_after_the_server_starts(
    reference, django_capture_on_commit_callbacks
):
    from boards.demo_meetings import fill_in
    from boards.models import BoardPack

    localities_demo.seed_users()
    boards_demo.seed_memberships()
    list(seed())
    with django_capture_on_commit_callbacks(execute=True):
        assert list(fill_in()) == ["board packs: 1 queued"]
    assert BoardPack.objects.get().status == "ready"
    assert list(fill_in()) == ["board packs: 0 queued"]
