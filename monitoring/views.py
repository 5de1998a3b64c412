"""Monitor pages: the list (filters in the URL, sparklines, bulk pause/resume, a "New" form per kind)
and a monitor's page (latency and uptime charts, recent checks)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from monitoring import selectors, services
from monitoring.charts import latency_chart, uptime_chart
from monitoring.forms import MonitorFilterForm, MonitorForm
from monitoring.models import Monitor, MonitorKind
from monitoring.sparkline import sparkline
from opsplatform.core.access import get_for_read_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, add_service_errors

PAGE_SIZE = 50


def _kind_forms(request, posted: MonitorForm | None = None) -> list[tuple[str, str, MonitorForm]]:
    forms = []
    for kind, label in MonitorKind.choices:
        if posted is not None and posted.data.get("kind") == kind:
            form = posted
        else:
            form = MonitorForm(
                organization=request.organization, initial={"kind": kind}, auto_id=f"id_{kind}_%s"
            )
        forms.append((kind, label, form))
    return forms


@requires(Capability.MONITOR_VIEW, post=Capability.MONITOR_MANAGE)
def monitor_list(request):
    posted = None
    if request.method == "POST":
        posted = MonitorForm(
            request.POST, organization=request.organization, auto_id=f"id_{request.POST.get('kind', '')}_%s"
        )
        if posted.is_valid():
            try:
                monitor = services.monitor_create(actor=request.actor, **posted.service_values())
            except ValidationError as exc:
                add_service_errors(posted, exc)
            else:
                messages.success(
                    request, f"Monitor {monitor.name} created; its first check runs within seconds."
                )
                return redirect("monitoring:detail", monitor.pk)
    filters = MonitorFilterForm(request.GET)
    data = filters.cleaned_data if filters.is_valid() else {}
    queryset = selectors.monitors_for_list(
        request.organization,
        states=data.get("state") or (),
        kinds=data.get("kind") or (),
        q=data.get("q", ""),
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    latencies = selectors.recent_latencies([m.pk for m in page.object_list])
    rows = [(m, sparkline(latencies.get(m.pk, []), f"Latency of {m.name}")) for m in page.object_list]
    return render(
        request,
        "monitoring/list.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "kind_forms": _kind_forms(request, posted),
            "open_kind": posted.data.get("kind") if posted is not None else "",
            "can_manage": request.actor.can(Capability.MONITOR_MANAGE),
            "filtered": any(data.values()) if data else False,
        },
        status=400 if posted is not None else 200,
    )


@require_POST
@requires(Capability.MONITOR_MANAGE)
def monitor_bulk(request):
    call = {"pause": services.monitor_pause, "resume": services.monitor_resume}.get(
        request.POST.get("action", "")
    )
    ids = [int(pk) for pk in request.POST.getlist("monitor") if pk.isdigit()]
    if call is None or not ids:
        messages.error(request, "Select monitors, then pause or resume.")
        return redirect("monitoring:index")
    monitors = Monitor.objects.for_organization(request.organization).filter(pk__in=ids)
    done = 0
    for monitor in monitors:
        call(actor=request.actor, monitor=monitor)
        done += 1
    messages.success(request, f"{done} monitor{'s' if done != 1 else ''} {request.POST['action']}d.")
    back = request.POST.get("back", "")
    return redirect(back if back.startswith("/monitors/") else "monitoring:index")


@requires(Capability.MONITOR_VIEW)
def monitor_detail(request, pk):
    monitor = get_for_read_or_404(
        request, Monitor.objects.select_related("service"), Capability.MONITOR_VIEW, pk=pk
    )
    minutes, hours = selectors.day_and_month(monitor)
    return render(
        request,
        "monitoring/detail.html",
        {
            "monitor": monitor,
            "results": selectors.recent_results(monitor),
            "latency_chart": latency_chart(monitor, minutes),
            "uptime_chart": uptime_chart(monitor, hours),
            "can_manage": request.actor.can(Capability.MONITOR_MANAGE),
        },
    )


@require_POST
@requires(Capability.MONITOR_MANAGE)
def monitor_action(request, pk, action):
    monitor = get_for_read_or_404(request, Monitor.objects.all(), Capability.MONITOR_MANAGE, pk=pk)
    calls = {
        "pause": services.monitor_pause,
        "resume": services.monitor_resume,
        "delete": services.monitor_delete,
    }
    if action not in calls:
        messages.error(request, "Unknown action.")
        return redirect("monitoring:detail", pk)
    return act(
        request,
        lambda: calls[action](actor=request.actor, monitor=monitor),
        success=f"Monitor {action}d." if action != "delete" else f"Monitor {monitor.name} deleted.",
        redirect_to="monitoring:index" if action == "delete" else ("monitoring:detail", pk),
    )
