"""``/postmortems/`` and one postmortem's page: sections, ledger timeline, action items, review,
exports, and the edit form (a stale base revision is a conflict banner, not an overwrite)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from incidents.models import Incident
from opsplatform.core.access import get_for_read_or_404, get_for_write_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.ids import parse_id
from workflows.errors import TransitionError

from . import selectors, services
from .errors import ReadOnly, RevisionConflict
from .forms import ActionItemForm, PostmortemForm
from .models import SECTIONS, PostmortemRevision, PostmortemStatus, RunbookVerdictKind
from .templatetags_safe import rendered_sections


@requires(Capability.POSTMORTEM_VIEW)
def postmortem_list(request):
    postmortems = selectors.postmortems_for_list(request.organization)
    status = request.GET.get("status", "")
    if status in PostmortemStatus.values:
        postmortems = postmortems.filter(status=status)
    page = Paginator(postmortems, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "knowledge/postmortems/list.html",
        {"page": page, "status": status, "statuses": PostmortemStatus.choices},
    )


def _detail(request, postmortem, *, conflict=None, form=None, status=200):
    initial = {"base_revision": postmortem.revision, "title": postmortem.title, **postmortem.sections()}
    return render(
        request,
        "knowledge/postmortems/detail.html",
        {
            "pm": postmortem,
            "sections": [
                (key, label, html)
                for (key, label), html in zip(SECTIONS, rendered_sections(postmortem).values(), strict=True)
            ],
            "form": form or PostmortemForm(initial=initial),
            "item_form": ActionItemForm(organization=request.organization),
            "conflict": conflict,
            "impact": [parse_datetime(postmortem.facts.get(k) or "") for k in ("impact_start", "impact_end")],
            "verification": selectors.verify_postmortem(postmortem, check_chain=False),
            **_runbooks_context(request, postmortem),
        },
        status=status,
    )


def _runbooks_context(request, postmortem, *, error=None) -> dict:
    return {
        "pm": postmortem,
        "runbook_rows": selectors.runbook_rows(postmortem, request.actor),
        "verdict_kinds": RunbookVerdictKind.choices,
        "runbooks_error": error,
    }


def _posted_verdicts(post) -> list[dict]:
    """The card's rows: one hidden ``article`` per runbook, with ``verdict_<id>`` and ``note_<id>``."""
    verdicts = []
    for raw in post.getlist("article"):
        article = parse_id(raw)
        if article is None:
            raise ValidationError("No such runbook.")
        verdict = post.get(f"verdict_{article}") or None
        verdicts.append({"article": article, "verdict": verdict, "note": post.get(f"note_{article}", "")})
    return verdicts


@requires(Capability.POSTMORTEM_VIEW, post=Capability.POSTMORTEM_EDIT)
def postmortem_runbooks(request, pk):
    """The *Runbooks* card (an htmx partial): each runbook of the incidents with the postmortem's
    verdict; POST sets the verdicts and answers the refreshed card (400 / 409 with the reason)."""
    postmortem = get_for_read_or_404(
        request, selectors.postmortem_detail(request.organization), Capability.POSTMORTEM_VIEW, pk=pk
    )
    error, status = None, 200
    if request.method == "POST":
        try:
            postmortem = services.runbook_verdicts_set(
                actor=request.actor, postmortem=postmortem, verdicts=_posted_verdicts(request.POST)
            )
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
        except ReadOnly as exc:
            error, status = str(exc), 409
    return render(
        request,
        "knowledge/postmortems/_runbooks.html",
        _runbooks_context(request, postmortem, error=error),
        status=status,
    )


@requires(Capability.POSTMORTEM_VIEW, post=Capability.POSTMORTEM_EDIT)
def postmortem_page(request, pk):
    postmortem = get_for_read_or_404(
        request, selectors.postmortem_detail(request.organization), Capability.POSTMORTEM_VIEW, pk=pk
    )
    if request.method != "POST":
        return _detail(request, postmortem)
    form = PostmortemForm(request.POST)
    if not form.is_valid():
        return _detail(request, postmortem, form=form, status=400)
    data = form.cleaned_data
    try:
        services.postmortem_save(
            actor=request.actor,
            postmortem=postmortem,
            base_revision=data["base_revision"],
            title=data["title"],
            sections={key: data[key] for key, _ in SECTIONS},
            message=data["message"],
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _detail(request, postmortem, form=form, status=400)
    except (RevisionConflict, ReadOnly) as exc:
        # The typed text stays in the form; the page behind it shows what the other save wrote.
        postmortem = selectors.postmortem_detail(request.organization).get(pk=pk)
        form = PostmortemForm({**request.POST.dict(), "base_revision": postmortem.revision})
        return _detail(request, postmortem, conflict=str(exc), form=form, status=409)
    messages.success(request, "Saved a new revision.")
    return redirect("postmortems:detail", pk=pk)


@require_POST
@requires(Capability.POSTMORTEM_VIEW)
def postmortem_action(request, pk, name):
    postmortem = get_for_write_or_404(
        request, selectors.postmortems_for_list(request.organization), Capability.POSTMORTEM_VIEW, pk=pk
    )
    calls = {
        "resync": lambda: services.postmortem_resync(actor=request.actor, postmortem=postmortem),
        "submit": lambda: services.postmortem_submit(actor=request.actor, postmortem=postmortem),
        "publish": lambda: services.postmortem_review_event(
            actor=request.actor, postmortem=postmortem, event="publish"
        ),
        "request_changes": lambda: services.postmortem_review_event(
            actor=request.actor, postmortem=postmortem, event="request_changes"
        ),
        "action_item": lambda: services.action_item_add(
            actor=request.actor, postmortem=postmortem, title=request.POST.get("title", "")
        ),
    }
    if name not in calls:
        return redirect("postmortems:detail", pk=pk)
    try:
        calls[name]()
        messages.success(request, "Done.")
    except (ValidationError, TransitionError, ReadOnly, PermissionDenied) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("postmortems:detail", pk=pk)


def _add_item(request, postmortem):
    form = ActionItemForm(request.POST, organization=request.organization)
    if not form.is_valid():
        raise ValidationError(form.errors)
    return services.action_item_add(actor=request.actor, postmortem=postmortem, **form.cleaned_data)


@require_POST
@requires(Capability.POSTMORTEM_EDIT)
def draft_from_incident(request, incident_id):
    incident = get_for_read_or_404(request, Incident.objects.all(), Capability.INCIDENT_VIEW, pk=incident_id)
    try:
        postmortem, _ = services.postmortem_draft(actor=request.actor, incident=incident)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("incidents:detail", pk=incident_id)
    return redirect("postmortems:detail", pk=postmortem.pk)


@requires(Capability.POSTMORTEM_VIEW)
def postmortem_history(request, pk):
    postmortem = get_for_read_or_404(
        request, selectors.postmortems_for_list(request.organization), Capability.POSTMORTEM_VIEW, pk=pk
    )
    revisions = PostmortemRevision.objects.filter(postmortem=postmortem).select_related("author")
    return render(
        request,
        "knowledge/postmortems/history.html",
        {"pm": postmortem, "revisions": revisions.order_by("-number")},
    )


@requires(Capability.POSTMORTEM_VIEW)
def postmortem_diff(request, pk):
    postmortem = get_for_read_or_404(
        request, selectors.postmortems_for_list(request.organization), Capability.POSTMORTEM_VIEW, pk=pk
    )
    revisions = PostmortemRevision.objects.filter(postmortem=postmortem)
    old = revisions.filter(number=parse_id(request.GET.get("from") or "")).first()
    new = revisions.filter(number=parse_id(request.GET.get("to") or "")).first()
    if old is None or new is None:
        raise Http404("No such revision.")
    table = mark_safe(selectors.postmortem_revision_diff(old, new))  # noqa: S308 (difflib escapes the text)
    return render(
        request, "knowledge/postmortems/diff.html", {"pm": postmortem, "old": old, "new": new, "table": table}
    )
