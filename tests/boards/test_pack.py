from __future__ import annotations

import io
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from boards import services
from boards.models import BoardPack
from gmhsc.errors import ApplicationError
from tests.boards.factories import pdf_bytes


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def request_pack(django_capture_on_commit_callbacks):
    def _request(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            pack = services.pack_request(**kwargs)
        pack.refresh_from_db()
        return pack

    return _request


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


@pytest.fixture
def meeting_with_papers(jcb_setup):
    s = jcb_setup
    services.agenda_item_add(
        actor=s["chair"],
        meeting=s["meeting"],
        title="Finance report",
        purpose="assurance",
        paper=upload("finance.pdf", pdf_bytes(3, "FINANCEPAPER")),
    )
    services.agenda_item_add(
        actor=s["chair"],
        meeting=s["meeting"],
        title="Acute contract",
        purpose="decision",
        is_private=True,
        paper=upload("acute.pdf", pdf_bytes(2, "PRIVATEPAPER")),
    )
    return s


def text_of(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def test_pack_merges_papers_with_one_numbering(meeting_with_papers, request_pack):
    s = meeting_with_papers
    pack = request_pack(actor=s["chair"], meeting=s["meeting"])
    assert (pack.status, pack.progress, pack.version) == ("ready", 100, 1)
    full = pack.file.read()
    pages = text_of(full)
    assert len(pages) == pack.pages
    front = pack.pages - 5
    for n, text in enumerate(pages, start=1):
        assert f"Page {n} of {pack.pages}" in text
    assert "FINANCEPAPER page 1" in pages[front]
    assert "PRIVATEPAPER page 2" in pages[-1]
    joined = "\n".join(pages)
    # contents gives the papers' start pages in the merged numbering
    assert re.search(rf"Paper 1: Finance report \(3 pages\).*{front + 1}", joined)
    assert re.search(rf"Paper 2: Acute contract \(2 pages\).*{front + 4}", joined)
    public = text_of(pack.public_file.read())
    assert len(public) == pack.public_pages == pack.pages - 2 - (front - (pack.public_pages - 3))
    assert "PRIVATEPAPER" not in "\n".join(public)
    assert f"Page {len(public)} of {len(public)}" in public[-1]


def test_supplement_needs_note_and_keeps_old_version(meeting_with_papers, request_pack):
    s = meeting_with_papers
    v1 = request_pack(actor=s["chair"], meeting=s["meeting"])
    with pytest.raises(ApplicationError, match="change note"):
        services.pack_request(actor=s["chair"], meeting=s["meeting"])
    v2 = request_pack(actor=s["officer"], meeting=s["meeting"], change_note="Revised finance paper")
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.version, v2.version) == (1, 2)
    assert v1.file.name != v2.file.name
    assert v1.file.storage.exists(v1.file.name)
    assert "Supplement: Revised finance paper" in text_of(v2.file.read())[0]


def test_publish_emails_members(
    meeting_with_papers, request_pack, django_capture_on_commit_callbacks
):
    s = meeting_with_papers
    pack = request_pack(actor=s["chair"], meeting=s["meeting"])
    mail.outbox.clear()
    with pytest.raises(Exception):  # noqa: B017 - members cannot publish
        services.pack_publish(actor=s["member"], pack=pack)
    with django_capture_on_commit_callbacks(execute=True):
        services.pack_publish(actor=s["chair"], pack=pack)
    pack.refresh_from_db()
    assert pack.published_at is not None
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted(
        [s["chair"].email, s["member"].email, s["observer"].email, s["officer"].email]
    )
    assert mail.outbox[0].subject == "JCB: papers for October meeting published (version 1)"


def test_paper_must_be_pdf_and_within_size(jcb_setup, settings):
    s = jcb_setup
    with pytest.raises(ApplicationError, match="must be a PDF"):
        services.agenda_item_add(
            actor=s["chair"],
            meeting=s["meeting"],
            title="x",
            purpose="information",
            paper=upload("evil.pdf", b"MZ\x90\x00 not a pdf"),
        )
    settings.GMHSC_MAX_PAPER_BYTES = 100
    with pytest.raises(ApplicationError, match="smaller than"):
        services.agenda_item_add(
            actor=s["chair"],
            meeting=s["meeting"],
            title="x",
            purpose="information",
            paper=upload("big.pdf", b"%PDF-" + b"0" * 200),
        )
    assert BoardPack.objects.count() == 0


def test_numbering_follows_each_page_size():
    import io

    from pypdf import PdfReader, PdfWriter

    from boards.pack import assemble

    landscape = PdfWriter()
    landscape.add_blank_page(width=842, height=595)
    landscape.add_blank_page(width=612, height=792)  # US Letter
    buf = io.BytesIO()
    landscape.write(buf)
    out, total = assemble(pdf_bytes(1, "FRONT"), [buf.getvalue()])
    reader = PdfReader(io.BytesIO(out))
    assert total == 3
    assert [
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages
    ] == [
        (595, 842),
        (842, 595),
        (612, 792),
    ]
    assert [p.extract_text().strip().splitlines()[-1] for p in reader.pages] == [
        "Page 1 of 3",
        "Page 2 of 3",
        "Page 3 of 3",
    ]
