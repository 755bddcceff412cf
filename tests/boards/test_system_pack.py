"""The pack is built by a real Celery worker (exports queue) while the page polls its progress."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from boards import services
from boards.models import BoardPack
from tests.boards.factories import pdf_bytes
from tests.conftest import wait_for

pytestmark = pytest.mark.system


def test_real_worker_builds_pack(jcb_setup, celery_worker_proc, settings, tmp_path):
    s = jcb_setup
    services.agenda_item_add(
        actor=s["chair"],
        meeting=s["meeting"],
        title="Paper",
        purpose="information",
        paper=SimpleUploadedFile("p.pdf", pdf_bytes(2, "WORKER"), content_type="application/pdf"),
    )
    pack = services.pack_request(actor=s["chair"], meeting=s["meeting"])
    done = wait_for(
        lambda: BoardPack.objects.filter(pk=pack.pk, status__in=["ready", "failed"]).first(),
        timeout=60,
    )
    assert done.status == "ready", done.error
    assert done.progress == 100
    assert done.pages >= 3
