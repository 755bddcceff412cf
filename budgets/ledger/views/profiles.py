"""Import profile pages: the profiles a finance officer can read files with, building one from a
sample of their ledger's export (the file's columns with their first values; choose which is
which; the first 20 rows as gmhsc reads them, before saving), changing, copying, removing, and
sharing them as JSON.

The sample lives in file storage for the session that uploaded it (its path is kept in the
session, never taken from the form), and is removed when the profile is saved.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from budgets import rules
from budgets.ledger import selectors as ledger_selectors
from budgets.ledger.formats import DATE_FORMATS, PROFILE_DATE_FORMATS
from budgets.ledger.forms import ProfileForm, SampleForm
from budgets.ledger.imports import reading
from budgets.ledger.imports.sample import parsed_rows
from budgets.ledger.profiles import (
    DELIMITERS,
    ENCODINGS,
    FIELDS,
    ProfileError,
    ProfileSpec,
    shipped_profiles,
)
from budgets.ledger.services import profiles as profile_service
from budgets.ledger.views.imports import organisation_of
from budgets.models import ImportProfile
from gmhsc.errors import ApplicationError
from gmhsc.uploads import check_upload
from localities.actors import actor_of

SAMPLES = "ledger_profile_samples"
SAMPLE_BYTES = 20 * 1024 * 1024


def _profile(request: HttpRequest, pk: int) -> ImportProfile:
    found = ledger_selectors.profiles_visible_to(request.user).filter(pk=pk).first()
    if found is None:
        raise Http404("Import profile not found.")
    return found


def _keeper(request: HttpRequest) -> Any:
    org = organisation_of(request)
    if not rules.may_post_for(request.user, org):
        raise Http404("Not found.")
    return org


@login_required
@require_http_methods(["GET", "POST"])
def profile_list(request: HttpRequest) -> HttpResponse:
    """The shipped profiles and the organisation's own; finance officers import one from JSON."""
    org = organisation_of(request)
    can_edit = rules.may_post_for(request.user, org)
    error = ""
    if request.method == "POST":
        if not can_edit:
            raise Http404("Not found.")
        upload = request.FILES.get("profile_file")
        if upload is None:
            error = "Choose a profile file (.json) to import."
        else:
            try:
                check_upload(upload, max_bytes=1024 * 1024, allowed_types=["json"])
                profile = profile_service.profile_import_json(
                    actor=actor_of(request), organisation=org, text=upload.read()
                )
            except ApplicationError as exc:
                error = exc.message
            else:
                messages.success(request, f"Import profile {profile.name} added.")
                return redirect("budgets:ledger-profile-detail", pk=profile.pk)
    profiles = ledger_selectors.profiles_visible_to(request.user).filter(
        organisation_id=org.pk
    ) | ledger_selectors.profiles_visible_to(request.user).filter(organisation=None)
    return render(
        request,
        "budgets/ledger/profile_list.html",
        {
            "organisation": org,
            "profiles": profiles.order_by("organisation_id", "name"),
            "can_edit": can_edit,
            "error": error,
        },
    )


def _describe(spec: ProfileSpec) -> list[tuple[str, str]]:
    """The profile's settings in words, for its page."""
    rows = [
        ("File", "Excel (.xlsx)" if spec.file_type == "xlsx" else "CSV or text"),
        ("Encoding", spec.encoding),
        ("Header row", str(spec.header_row)),
        ("Rows left off the end", str(spec.footer_rows)),
        ("Dates", DATE_FORMATS[spec.date_format].label),
        (
            "Line numbers",
            "numbered in file order"
            if spec.numbers_lines
            else f"column {spec.columns['line_number'][0]}",
        ),
        ("Rows no mapping covers", "left out" if spec.outside_pools == "leave" else "refused"),
    ]
    if spec.file_type == "csv":
        rows.insert(2, ("Delimiter", spec.delimiter))
    else:
        rows.insert(2, ("Sheet", spec.sheet or "the first"))
    for name, label in FIELDS.items():
        if spec.columns.get(name):
            rows.append((label, " or ".join(f"'{n}'" for n in spec.columns[name])))
        elif spec.constants.get(name):
            rows.append((label, f"always {spec.constants[name]}"))
    return rows


@login_required
@require_GET
def profile_detail(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _profile(request, pk)
    org = organisation_of(request)
    spec = ProfileSpec.from_data(profile.spec, name=profile.name)
    history = profile.history.select_related("history_user").order_by("-history_date")[:20]
    return render(
        request,
        "budgets/ledger/profile_detail.html",
        {
            "profile": profile,
            "settings": _describe(spec),
            "history": history,
            "can_edit": profile.organisation_id == org.pk and rules.may_post_for(request.user, org),
            "can_copy": rules.may_post_for(request.user, org),
        },
    )


@login_required
@require_GET
def profile_export(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _profile(request, pk)
    response = HttpResponse(
        profile_service.profile_export_json(profile),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{profile.name}.json"'
    return response


@login_required
@require_POST
def profile_copy(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _profile(request, pk)
    org = _keeper(request)
    name = request.POST.get("name", "").strip() or f"{profile.name}-copy"
    try:
        made = profile_service.profile_copy(
            actor=actor_of(request), profile=profile, organisation=org, name=name
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("budgets:ledger-profile-detail", pk=profile.pk)
    messages.success(request, f"Copied {profile.name} as {made.name}; change it as you need.")
    return redirect("budgets:ledger-profile-edit", pk=made.pk)


@login_required
@require_POST
def profile_delete(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _profile(request, pk)
    _keeper(request)
    try:
        profile_service.profile_delete(actor=actor_of(request), profile=profile)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("budgets:ledger-profile-detail", pk=profile.pk)
    messages.success(request, f"Import profile {profile.name} removed.")
    return redirect("budgets:ledger-profiles")


# ---- building a profile from a sample -------------------------------------------------------------


def _store_sample(request: HttpRequest, upload: Any) -> str:
    check_upload(upload, max_bytes=SAMPLE_BYTES, allowed_types=["csv", "txt", "tsv", "xlsx"])
    token = uuid.uuid4().hex
    suffix = PurePath(upload.name).suffix.lower()
    path = default_storage.save(f"ledger-profiles/samples/{token}{suffix}", upload)
    samples = dict(request.session.get(SAMPLES, {}))
    samples[token] = {"path": path, "name": PurePath(upload.name).name, "type": suffix[1:]}
    request.session[SAMPLES] = samples
    return token


def _sample(request: HttpRequest, token: str) -> dict[str, str] | None:
    found = request.session.get(SAMPLES, {}).get(token)
    if found is None or not default_storage.exists(found["path"]):
        return None
    return dict(found)


def _drop_sample(request: HttpRequest, token: str) -> None:
    samples = dict(request.session.get(SAMPLES, {}))
    found = samples.pop(token, None)
    request.session[SAMPLES] = samples
    if found is not None and default_storage.exists(found["path"]):
        default_storage.delete(found["path"])


def _opening(post: Any, file_type: str, defaults: ProfileSpec | None) -> ProfileSpec:
    """How to open the sample: the form's settings, else the profile's, else detected."""

    def number(name: str, fallback: int) -> int:
        try:
            return max(int(post.get(name, fallback)), 0)
        except (TypeError, ValueError):
            return fallback

    base = defaults or ProfileSpec(name="sample", delimiter="")
    return ProfileSpec(
        name="sample",
        file_type=file_type,
        sheet=post.get("sheet", base.sheet),
        encoding=_known(post.get("encoding"), ENCODINGS, base.encoding or "auto"),
        delimiter=_known(post.get("delimiter"), DELIMITERS, base.delimiter if defaults else ""),
        header_row=max(number("header_row", base.header_row), 1),
        date_format=post.get("date_format", base.date_format) or "DD/MM/YYYY",
    )


def _known(value: Any, allowed: Any, fallback: str) -> str:
    """A choice the form sent, if it is one gmhsc knows (the form then says what is wrong)."""
    return value if isinstance(value, str) and value in allowed else fallback


def _guesses(sample: reading.Sample) -> dict[str, Any]:
    """First choices for a new profile: columns named as the shipped profiles name them, and the
    date format the date column's first values are in."""
    known: dict[str, str] = {}
    for spec in shipped_profiles():
        for name, names in spec.columns.items():
            for column in names:
                known.setdefault(column.casefold(), name)
    initial: dict[str, Any] = {}
    taken: set[str] = set()
    for column in sample.header:
        field = known.get(column.casefold())
        if field and field not in taken:
            initial[f"column_{field}"] = column
            taken.add(field)
    if "line_number" not in taken:
        initial["line_numbers"] = "number_in_file_order"
    date_column = initial.get("column_posting_date")
    if date_column in sample.header:
        position = sample.header.index(date_column)
        values = [
            r[position].strip() for r in sample.rows if position < len(r) and r[position].strip()
        ]
        for key in PROFILE_DATE_FORMATS:
            fmt = DATE_FORMATS[key]
            if values and all(fmt.parse(v.lower() if fmt.lower else v) for v in values):
                initial["date_format"] = key
                break
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def profile_build(request: HttpRequest) -> HttpResponse:
    """A new profile from a sample file."""
    return _builder(request, profile=None)


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one of the organisation's profiles (a sample is optional, to see rows parsed)."""
    profile = _profile(request, pk)
    org = _keeper(request)
    if profile.organisation_id != org.pk:
        raise Http404("Import profile not found.")
    return _builder(request, profile=profile)


def _builder(request: HttpRequest, *, profile: ImportProfile | None) -> HttpResponse:
    org = _keeper(request)
    existing = ProfileSpec.from_data(profile.spec, name=profile.name) if profile else None
    post = request.POST
    token = post.get("sample_token", "")
    sample_form = SampleForm(post or None, request.FILES or None)
    if request.method == "POST" and "sample" in request.FILES:
        if sample_form.is_valid():
            try:
                token = _store_sample(request, sample_form.cleaned_data["sample"])
            except ApplicationError as exc:
                sample_form.add_error("sample", exc.message)
                token = ""
        else:
            token = ""
    stored = _sample(request, token) if token else None
    if existing is None and stored is None:
        # Step 1: choose a sample.
        if request.method == "POST" and not sample_form.errors and "sample" not in request.FILES:
            sample_form = SampleForm(None)
            messages.error(request, "Upload the sample again: it was not found.")
        return render(
            request, "budgets/ledger/profile_sample.html", {"form": sample_form, "profile": None}
        )
    file_type = stored["type"] if stored else (existing.file_type if existing else "csv")
    file_type = "xlsx" if file_type == "xlsx" else "csv"
    opening = _opening(post, file_type, existing)
    sample = None
    sample_error = ""
    if stored is not None:
        try:
            with default_storage.open(stored["path"], "rb") as handle:
                sample = reading.read_sample(handle, opening)
        except ApplicationError as exc:
            sample_error = exc.message
    columns = list(sample.header) if sample else []
    if existing is not None:
        for names in existing.columns.values():
            columns += [n for n in names if n not in columns]
    fresh = request.method != "POST" or "sample" in request.FILES or "action" not in post
    if fresh:
        initial = ProfileForm.initial_from(existing, columns) if existing else {}
        if sample is not None and existing is None:
            initial.update(_guesses(sample))
        initial.setdefault("file_type", file_type)
        initial.setdefault("header_row", opening.header_row)
        initial.setdefault("encoding", "auto")
        initial.setdefault(
            "delimiter", sample.delimiter if sample and sample.delimiter else "comma"
        )
        initial.setdefault("outside_pools", "refuse")
        form = ProfileForm(initial=initial, columns=columns)
    else:
        form = ProfileForm(post, columns=columns)
    rows = None
    if not fresh and form.is_valid():
        data = form.spec_data()
        if existing is not None:
            # A field whose column is one of the profile's names keeps all its names.
            for name, names in existing.columns.items():
                if data["columns"].get(name, [None])[0] in names:
                    data["columns"][name] = names
        try:
            spec = ProfileSpec.from_data(data)
        except ProfileError as exc:
            for problem in exc.problems:
                where = f"column_{problem['field']}"
                form.add_error(
                    where
                    if where in form.fields
                    else (problem["field"] if problem["field"] in form.fields else None),
                    problem["message"][0].upper() + problem["message"][1:] + ".",
                )
        else:
            if post.get("action") == "save":
                try:
                    if profile is None:
                        saved = profile_service.profile_create(
                            actor=actor_of(request), organisation=org, data=data
                        )
                    else:
                        saved = profile_service.profile_update(
                            actor=actor_of(request), profile=profile, data=data
                        )
                except ApplicationError as exc:
                    field = exc.extra.get("field")
                    form.add_error(field if field in form.fields else None, exc.message)
                else:
                    if token:
                        _drop_sample(request, token)
                    messages.success(request, f"Import profile {saved.name} saved.")
                    return redirect("budgets:ledger-profile-detail", pk=saved.pk)
            elif stored is not None:
                try:
                    with default_storage.open(stored["path"], "rb") as handle:
                        rows = parsed_rows(handle, spec, org)
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
    return render(
        request,
        "budgets/ledger/profile_build.html",
        {
            "profile": profile,
            "form": form,
            "sample_form": SampleForm(None),
            "token": token if stored else "",
            "sample": sample,
            "sample_name": stored["name"] if stored else "",
            "sample_error": sample_error,
            "first_values": sample.first_values() if sample else [],
            "rows": rows,
            "max_rows": settings.GMHSC_MAX_UPLOAD_ROWS,
        },
    )
