"""On-call and notifications pages for schedules: the list with who is on call, the detail with the
timeline (a row per layer above the final result), layers, overrides, swaps and calendar feeds."""

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from incidents.views.pagination import lookahead_page
from notifications import selectors
from notifications.forms import LayerForm, OverrideForm, ScheduleForm, SwapForm, members_of
from notifications.models import CalendarFeed, Schedule, ScheduleLayer, ScheduleOverride, ShiftSwap
from notifications.services import calendar_feeds, overrides
from notifications.services import schedules as services
from notifications.views import timeline
from opsplatform.core.access import get_for_read_or_404, get_for_write_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit

SCHEDULES = Schedule.objects.select_related("team")
LIST_PAGE_SIZE = 25
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> reads


@requires(Capability.TEAM_VIEW, post=Capability.SCHEDULE_MANAGE)
def schedule_list(request):
    form = ScheduleForm(organization=request.organization)
    status = 200
    if request.method == "POST":
        form = ScheduleForm(request.POST, organization=request.organization)
        done = submit(
            request,
            form,
            lambda data: services.schedule_create(actor=request.actor, **data),
            success=lambda schedule: f"Schedule “{schedule.name}” created. Add a layer to fill it.",
            redirect_to=lambda schedule: ("notifications:schedule_detail", schedule.pk),
        )
        if done.response:
            return done.response
        status = done.status
    schedules = selectors.schedules_for_list(request.organization).annotate(
        layer_count=Count("layers", distinct=True)
    )
    page = lookahead_page(schedules, request.GET.get("page"), LIST_PAGE_SIZE)
    context = {
        "page": page,
        "summaries": selectors.oncall_summaries(list(page.object_list)),
        "form": form,
        "open_new": form.is_bound or "new" in request.GET,
        "can_manage": request.actor.can(Capability.SCHEDULE_MANAGE),
    }
    return render(request, "notifications/schedule_list.html", context, status=status)


def _prefilled_override(request) -> dict:
    """``?override_start=…&override_end=…`` (the team's wall-clock times, a range picked on the
    timeline) opens the new-override dialog with them filled in."""
    initial = {}
    for param, field in (("override_start", "starts_at"), ("override_end", "ends_at")):
        try:
            initial[field] = datetime.fromisoformat(request.GET.get(param, "")).strftime(LOCAL_INPUT)
        except ValueError:
            continue
    return initial


def _query(**params) -> str:
    """A link to another window of the timeline (a prefilled range is not carried along)."""
    return "?" + urlencode({key: value for key, value in params.items() if value})


def _detail_context(request, schedule, *, override_form=None, swap_form=None, issued_feed=None):
    actor = request.actor
    now = timezone.now()
    tz = ZoneInfo(schedule.team.time_zone)
    today = now.astimezone(tz).date()
    window = timeline.parse_window(request.GET.get("window"))
    first_day = timeline.parse_day(request.GET.get("start"), today)
    view = timeline.build(schedule, window=window, first_day=first_day, at=now)
    org = request.organization
    prefill = _prefilled_override(request)
    layers = schedule.layers.order_by("-priority", "id")
    shown = {item.id for item in view.layers}
    return {
        "schedule": schedule,
        "tz": tz,
        "timeline": view,
        "window_links": [
            (key, label, _query(window=key, start=first_day.isoformat() if first_day != today else ""))
            for key, label in timeline.WINDOW_LABELS.items()
        ],
        "previous_url": _query(window=window, start=view.previous_day.isoformat()),
        "next_url": _query(window=window, start=view.next_day.isoformat()),
        "today_url": _query(window=window),
        "is_today": first_day == today,
        "summary": selectors.oncall_summaries([schedule], at=now)[0],
        # Stored layers the computation cannot follow (refused on write today): listed, not drawn.
        "hidden_layers": [layer for layer in layers if layer.pk not in shown],
        "overrides": selectors.upcoming_overrides(schedule, now),
        "swaps": selectors.upcoming_swaps(schedule, now),
        "feeds": selectors.active_feeds(org, schedule=schedule),
        "issued_feed": issued_feed,
        "override_form": override_form or OverrideForm(organization=org, initial=prefill),
        "open_override": bool(prefill) or bool(override_form is not None and override_form.errors),
        "swap_form": swap_form or SwapForm(organization=org),
        "open_swap": bool(swap_form is not None and swap_form.errors),
        "can_manage": actor.can(Capability.SCHEDULE_MANAGE),
        "is_team_member": schedule.team.members.filter(pk=request.user.pk).exists(),
    }


@requires(Capability.TEAM_VIEW)
def schedule_detail(request, pk):
    schedule = get_for_read_or_404(request, SCHEDULES, Capability.TEAM_VIEW, pk=pk)
    return render(request, "notifications/schedule_detail.html", _detail_context(request, schedule))


@requires(Capability.SCHEDULE_MANAGE)
def schedule_edit(request, pk):
    schedule = get_for_write_or_404(request, SCHEDULES, Capability.SCHEDULE_MANAGE, pk=pk)
    initial = {"name": schedule.name, "team": schedule.team, "description": schedule.description}
    form = ScheduleForm(initial=initial, organization=request.organization)
    if request.method == "POST":
        form = ScheduleForm(request.POST, organization=request.organization)
        done = submit(
            request,
            form,
            lambda data: services.schedule_update(actor=request.actor, schedule=schedule, **data),
            success="Schedule saved.",
            redirect_to=("notifications:schedule_detail", schedule.pk),
        )
        if done.response:
            return done.response
    return render(request, "notifications/schedule_edit.html", {"schedule": schedule, "form": form})


@require_POST
@requires(Capability.SCHEDULE_MANAGE)
def schedule_delete(request, pk):
    schedule = get_for_write_or_404(request, SCHEDULES, Capability.SCHEDULE_MANAGE, pk=pk)
    return act(
        request,
        lambda: services.schedule_delete(actor=request.actor, schedule=schedule),
        success=f"Schedule “{schedule.name}” deleted.",
        redirect_to="notifications:schedule_list",
        refused_to=("notifications:schedule_detail", schedule.pk),
    )


@requires(Capability.SCHEDULE_MANAGE)
def layer_edit(request, pk, layer_pk=None):
    schedule = get_for_write_or_404(request, SCHEDULES, Capability.SCHEDULE_MANAGE, pk=pk)
    layer = None
    if layer_pk is not None:
        layer = get_for_write_or_404(
            request, ScheduleLayer, Capability.SCHEDULE_MANAGE, pk=layer_pk, schedule=schedule
        )
    if layer is not None:
        initial = LayerForm.initial_for(layer)
    else:
        initial = {"start_date": timezone.now().astimezone(ZoneInfo(schedule.team.time_zone)).date()}
    form = LayerForm(initial=initial, organization=request.organization)
    if request.method == "POST":
        form = LayerForm(request.POST, organization=request.organization)
        done = submit(
            request,
            form,
            lambda data: services.layer_save(
                actor=request.actor,
                schedule=schedule,
                layer=layer,
                name=data["name"],
                rotation=data["rotation"],
                shift_hours=data["shift_hours"],
                start_date=data["start_date"],
                handoff_time=data["handoff_time"],
                participants=data["participants"],
                priority=data["priority"],
                restrictions=form.restrictions(),
            ),
            success="Layer saved.",
            redirect_to=("notifications:schedule_detail", schedule.pk),
        )
        if done.response:
            return done.response
    context = {
        "schedule": schedule,
        "layer": layer,
        "form": form,
        "members": members_of(request.organization),
    }
    return render(request, "notifications/layer_edit.html", context)


@require_POST
@requires(Capability.SCHEDULE_MANAGE)
def layer_delete(request, pk, layer_pk):
    schedule = get_for_write_or_404(request, SCHEDULES, Capability.SCHEDULE_MANAGE, pk=pk)
    layer = get_for_write_or_404(
        request, ScheduleLayer, Capability.SCHEDULE_MANAGE, pk=layer_pk, schedule=schedule
    )
    return act(
        request,
        lambda: services.layer_delete(actor=request.actor, layer=layer),
        success=f"Layer “{layer.name}” removed.",
        redirect_to=("notifications:schedule_detail", schedule.pk),
    )


# Overrides and swaps: the service decides who may arrange them (managers, or the team members they
# concern), so these pages only need the schedule to be visible.


def _cover_create(request, pk, *, kind, form_class, success):
    schedule = get_for_read_or_404(request, SCHEDULES, Capability.TEAM_VIEW, pk=pk)
    # Date-times on these forms are the team's wall-clock times.
    form = form_class(request.POST, organization=request.organization)
    with timezone.override(ZoneInfo(schedule.team.time_zone)):
        form.is_valid()
    done = submit(
        request,
        form,
        lambda data: overrides.cover_create(actor=request.actor, schedule=schedule, kind=kind, **data),
        success=success,
        redirect_to=("notifications:schedule_detail", schedule.pk),
    )
    if done.response:
        return done.response
    context = _detail_context(request, schedule, **{f"{kind}_form": form})
    return render(request, "notifications/schedule_detail.html", context, status=done.status)


def _cover_delete(request, model, pk, *, success):
    cover = get_for_read_or_404(request, model, Capability.TEAM_VIEW, pk=pk)
    return act(
        request,
        lambda: overrides.cover_delete(actor=request.actor, cover=cover),
        success=success,
        redirect_to=("notifications:schedule_detail", cover.schedule_id),
    )


@require_POST
@requires(Capability.TEAM_VIEW)
def override_create(request, pk):
    return _cover_create(
        request,
        pk,
        kind=overrides.OVERRIDE,
        form_class=OverrideForm,
        success=lambda override: f"{override.user.username} is on call for that time.",
    )


def _cover_accept(request, model, pk):
    cover = get_for_read_or_404(request, model, Capability.TEAM_VIEW, pk=pk)
    return act(
        request,
        lambda: overrides.cover_accept(actor=request.actor, cover=cover),
        success="Accepted: the shifts are yours.",
        redirect_to=("notifications:schedule_detail", cover.schedule_id),
    )


@require_POST
@requires(Capability.TEAM_VIEW)
def override_accept(request, pk):
    return _cover_accept(request, ScheduleOverride, pk)


@require_POST
@requires(Capability.TEAM_VIEW)
def swap_accept(request, pk):
    return _cover_accept(request, ShiftSwap, pk)


@require_POST
@requires(Capability.TEAM_VIEW)
def override_delete(request, pk):
    return _cover_delete(request, ScheduleOverride, pk, success="Override removed.")


@require_POST
@requires(Capability.TEAM_VIEW)
def swap_create(request, pk):
    return _cover_create(request, pk, kind=overrides.SWAP, form_class=SwapForm, success="Swap recorded.")


@require_POST
@requires(Capability.TEAM_VIEW)
def swap_delete(request, pk):
    return _cover_delete(request, ShiftSwap, pk, success="Swap removed.")


@require_POST
@requires(Capability.TEAM_VIEW)
def schedule_feed_create(request, pk):
    schedule = get_for_read_or_404(request, SCHEDULES, Capability.TEAM_VIEW, pk=pk)
    issued = calendar_feeds.calendar_feed_create(actor=request.actor, schedule=schedule)
    # The secret URL is shown on this response only: render rather than redirect.
    context = _detail_context(request, schedule, issued_feed=request.build_absolute_uri(issued.path))
    return render(request, "notifications/schedule_detail.html", context)


@require_POST
@requires(Capability.TEAM_VIEW)
def feed_revoke(request, pk):
    # Its maker or its person may revoke a feed; anyone else needs schedule.manage (the service checks).
    feed = get_for_read_or_404(request, CalendarFeed, Capability.TEAM_VIEW, pk=pk)
    return act(
        request,
        lambda: calendar_feeds.calendar_feed_revoke(actor=request.actor, feed=feed),
        success=f"Calendar feed {feed.prefix}… revoked; calendars using it stop updating.",
        redirect_to=("notifications:schedule_detail", feed.schedule_id)
        if feed.schedule_id
        else "notifications:settings",
    )
