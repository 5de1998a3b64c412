"""Schedule pages: list with who is on call, detail with the two-week timeline, layers, overrides,
swaps and calendar feeds."""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from notifications import selectors
from notifications.forms import LayerForm, OverrideForm, ScheduleForm, SwapForm, members_of
from notifications.models import CalendarFeed, Schedule, ScheduleLayer, ScheduleOverride, ShiftSwap
from notifications.services import schedules as services
from opsplatform.core.access import member_required
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import add_service_errors, first_error
from opsplatform.core.tenancy import get_in_organization_or_404


def _schedule(request, pk) -> Schedule:
    return get_in_organization_or_404(Schedule.objects.select_related("team"), request.organization, pk=pk)


@member_required
def schedule_list(request):
    actor = request.actor
    actor.require(Capability.TEAM_VIEW)
    form = ScheduleForm(organization=request.organization)
    if request.method == "POST":
        actor.require(Capability.SCHEDULE_MANAGE)
        form = ScheduleForm(request.POST, organization=request.organization)
        if form.is_valid():
            try:
                schedule = services.schedule_create(actor=actor, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Schedule “{schedule.name}” created. Add a layer to fill it.")
                return redirect("notifications:schedule_detail", pk=schedule.pk)
    schedules = list(selectors.schedules_for_list(request.organization))
    context = {
        "summaries": selectors.oncall_summaries(schedules),
        "form": form,
        "can_manage": actor.can(Capability.SCHEDULE_MANAGE),
    }
    return render(request, "notifications/schedule_list.html", context)


def _detail_context(request, schedule, *, override_form=None, swap_form=None, issued_feed=None):
    actor = request.actor
    now = timezone.now()
    timeline = selectors.timeline_rows(schedule, at=now)
    summary = selectors.oncall_summaries([schedule], at=now)[0]
    org = request.organization
    return {
        "schedule": schedule,
        "tz": ZoneInfo(schedule.team.time_zone),
        "rows": timeline.rows,
        "gaps": timeline.gaps,
        "legend": timeline.legend,
        "summary": summary,
        "layers": schedule.layers.prefetch_related("participants__user").order_by("-priority", "id"),
        "overrides": selectors.upcoming_overrides(schedule, now),
        "swaps": selectors.upcoming_swaps(schedule, now),
        "feeds": selectors.active_feeds(org, schedule=schedule),
        "issued_feed": issued_feed,
        "override_form": override_form or OverrideForm(organization=org),
        "swap_form": swap_form or SwapForm(organization=org),
        "can_manage": actor.can(Capability.SCHEDULE_MANAGE),
        "is_team_member": schedule.team.members.filter(pk=request.user.pk).exists(),
    }


@member_required
def schedule_detail(request, pk):
    request.actor.require(Capability.TEAM_VIEW)
    schedule = _schedule(request, pk)
    return render(request, "notifications/schedule_detail.html", _detail_context(request, schedule))


@member_required
def schedule_edit(request, pk):
    actor = request.actor
    actor.require(Capability.SCHEDULE_MANAGE)
    schedule = _schedule(request, pk)
    initial = {"name": schedule.name, "team": schedule.team, "description": schedule.description}
    form = ScheduleForm(initial=initial, organization=request.organization)
    if request.method == "POST":
        form = ScheduleForm(request.POST, organization=request.organization)
        if form.is_valid():
            try:
                services.schedule_update(actor=actor, schedule=schedule, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Schedule saved.")
                return redirect("notifications:schedule_detail", pk=schedule.pk)
    return render(request, "notifications/schedule_edit.html", {"schedule": schedule, "form": form})


@require_POST
@member_required
def schedule_delete(request, pk):
    request.actor.require(Capability.SCHEDULE_MANAGE)
    schedule = _schedule(request, pk)
    try:
        services.schedule_delete(actor=request.actor, schedule=schedule)
    except ValidationError as exc:
        messages.error(request, first_error(exc))
        return redirect("notifications:schedule_detail", pk=schedule.pk)
    messages.success(request, f"Schedule “{schedule.name}” deleted.")
    return redirect("notifications:schedule_list")


@member_required
def layer_edit(request, pk, layer_pk=None):
    actor = request.actor
    actor.require(Capability.SCHEDULE_MANAGE)
    schedule = _schedule(request, pk)
    layer = None
    if layer_pk is not None:
        layer = get_in_organization_or_404(
            ScheduleLayer, request.organization, pk=layer_pk, schedule=schedule
        )
    if layer is not None:
        initial = LayerForm.initial_for(layer)
    else:
        initial = {"start_date": timezone.now().astimezone(ZoneInfo(schedule.team.time_zone)).date()}
    form = LayerForm(initial=initial, organization=request.organization)
    if request.method == "POST":
        form = LayerForm(request.POST, organization=request.organization)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.layer_save(
                    actor=actor,
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
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Layer saved.")
                return redirect("notifications:schedule_detail", pk=schedule.pk)
    context = {
        "schedule": schedule,
        "layer": layer,
        "form": form,
        "members": members_of(request.organization),
    }
    return render(request, "notifications/layer_edit.html", context)


@require_POST
@member_required
def layer_delete(request, pk, layer_pk):
    request.actor.require(Capability.SCHEDULE_MANAGE)
    schedule = _schedule(request, pk)
    layer = get_in_organization_or_404(ScheduleLayer, request.organization, pk=layer_pk, schedule=schedule)
    services.layer_delete(actor=request.actor, layer=layer)
    messages.success(request, f"Layer “{layer.name}” removed.")
    return redirect("notifications:schedule_detail", pk=schedule.pk)


def _bound_in_team_zone(form_class, request, schedule):
    """Bind and validate a form whose date-times are the team's wall-clock times."""
    form = form_class(request.POST, organization=request.organization)
    with timezone.override(ZoneInfo(schedule.team.time_zone)):
        form.is_valid()
    return form


@require_POST
@member_required
def override_create(request, pk):
    schedule = _schedule(request, pk)
    form = _bound_in_team_zone(OverrideForm, request, schedule)
    if form.is_valid():
        try:
            services.override_create(actor=request.actor, schedule=schedule, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['user'].username} is on call for that time.")
            return redirect("notifications:schedule_detail", pk=schedule.pk)
    context = _detail_context(request, schedule, override_form=form)
    return render(request, "notifications/schedule_detail.html", context, status=400)


@require_POST
@member_required
def override_delete(request, pk):
    override = get_in_organization_or_404(ScheduleOverride, request.organization, pk=pk)
    services.override_delete(actor=request.actor, override=override)
    messages.success(request, "Override removed.")
    return redirect("notifications:schedule_detail", pk=override.schedule_id)


@require_POST
@member_required
def swap_create(request, pk):
    schedule = _schedule(request, pk)
    form = _bound_in_team_zone(SwapForm, request, schedule)
    if form.is_valid():
        try:
            services.swap_create(actor=request.actor, schedule=schedule, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Swap recorded.")
            return redirect("notifications:schedule_detail", pk=schedule.pk)
    context = _detail_context(request, schedule, swap_form=form)
    return render(request, "notifications/schedule_detail.html", context, status=400)


@require_POST
@member_required
def swap_delete(request, pk):
    swap = get_in_organization_or_404(ShiftSwap, request.organization, pk=pk)
    services.swap_delete(actor=request.actor, swap=swap)
    messages.success(request, "Swap removed.")
    return redirect("notifications:schedule_detail", pk=swap.schedule_id)


@require_POST
@member_required
def schedule_feed_create(request, pk):
    schedule = _schedule(request, pk)
    issued = services.calendar_feed_create(actor=request.actor, schedule=schedule)
    # The secret URL is shown on this response only: render rather than redirect.
    context = _detail_context(request, schedule, issued_feed=request.build_absolute_uri(issued.path))
    return render(request, "notifications/schedule_detail.html", context)


@require_POST
@member_required
def feed_revoke(request, pk):
    feed = get_in_organization_or_404(CalendarFeed, request.organization, pk=pk)
    services.calendar_feed_revoke(actor=request.actor, feed=feed)
    messages.success(request, f"Calendar feed {feed.prefix}… revoked; calendars using it stop updating.")
    if feed.schedule_id:
        return redirect("notifications:schedule_detail", pk=feed.schedule_id)
    return redirect("notifications:settings")
