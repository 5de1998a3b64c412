"""The operators' pages: status pages of the organization, one page's components, notices and
subscribers (e-mail counts, webhook endpoints), and the dialogs that change them (through the
services)."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_POST

from monitoring.statuspages import selectors, services
from monitoring.statuspages.forms import (
    ComponentForm,
    IncidentNoticeForm,
    MaintenanceNoticeForm,
    PageForm,
    UpdateForm,
    WebhookForm,
)
from monitoring.statuspages.models import (
    NoticeKind,
    StatusComponent,
    StatusNotice,
    StatusPage,
    StatusSubscriber,
    SubscriberKind,
)
from opsplatform.core.access import get_for_read_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit


def _page_values(data: dict) -> dict:
    return {
        k: data[k]
        for k in ("title", "slug", "description", "custom_domain", "published", "subscriptions_enabled")
    }


@requires(Capability.MONITOR_VIEW, post=Capability.MONITOR_MANAGE)
def page_list(request):
    form = PageForm(initial={"slug": request.organization.slug, "subscriptions_enabled": True})
    status = 200
    if request.method == "POST":
        form = PageForm(request.POST)
        done = submit(
            request,
            form,
            lambda data: services.page_create(actor=request.actor, **_page_values(data)),
            success=lambda page: f"Status page {page.title} created.",
            redirect_to=lambda page: ("statuspages:detail", page.pk),
        )
        if done.response:
            return done.response
        status = done.status
    pages = StatusPage.objects.for_organization(request.organization).order_by("title")
    return render(
        request,
        "monitoring/status/manage_list.html",
        {"pages": pages, "form": form, "can_manage": request.actor.can(Capability.MONITOR_MANAGE)},
        status=status,
    )


def _detail(request, page: StatusPage, *, status: int = 200, **forms):
    snap = selectors.build_snapshot(page)
    notices = (
        StatusNotice.objects.filter(page=page)
        .prefetch_related("updates", "components")
        .select_related("incident")[:30]
    )
    component_rows = []
    views = {v.id: v for v in snap["components"]}
    for component in page.components.prefetch_related("monitors", "services").order_by("position", "name"):
        edit = forms.get(f"component_{component.pk}") or ComponentForm(
            organization=request.organization,
            prefix=f"c{component.pk}",
            initial={
                "name": component.name,
                "group": component.group,
                "description": component.description,
                "monitors": list(component.monitors.all()),
                "services": list(component.services.all()),
                "show_uptime": component.show_uptime,
            },
        )
        component_rows.append((component, views.get(component.pk), edit))
    notice_rows = [
        (n, forms.get(f"update_{n.pk}") or UpdateForm(notice=n, prefix=f"n{n.pk}")) for n in notices
    ]
    subscribers = page.subscribers.filter(kind=SubscriberKind.EMAIL)
    context = {
        "page": page,
        "snap": snap,
        "component_rows": component_rows,
        "notice_rows": notice_rows,
        "subscriber_count": subscribers.filter(
            confirmed_at__isnull=False, unsubscribed_at__isnull=True
        ).count(),
        "pending_count": subscribers.filter(confirmed_at__isnull=True).count(),
        "page_form": forms.get("page_form") or PageForm(initial=_page_values(page.__dict__)),
        "component_form": forms.get("component_form")
        or ComponentForm(organization=request.organization, initial={"show_uptime": True}),
        "incident_form": forms.get("incident_form")
        or IncidentNoticeForm(page=page, initial={"status": "investigating", "notify": True}),
        "maintenance_form": forms.get("maintenance_form")
        or MaintenanceNoticeForm(page=page, initial={"notify": True}),
        "webhooks": page.subscribers.filter(kind=SubscriberKind.WEBHOOK).order_by("created_at", "pk"),
        "webhook_form": forms.get("webhook_form") or WebhookForm(),
        "issued_secret": forms.get("issued_secret", ""),
        "open_dialog": forms.get("open_dialog", ""),
        "can_manage": request.actor.can(Capability.MONITOR_MANAGE),
        "can_post": request.actor.can(Capability.INCIDENT_MANAGE),
    }
    return render(request, "monitoring/status/manage_detail.html", context, status=status)


def _page(request, pk, capability=Capability.MONITOR_VIEW) -> StatusPage:
    return get_for_read_or_404(request, StatusPage.objects.all(), capability, pk=pk)


@requires(Capability.MONITOR_VIEW)
def page_detail(request, pk):
    return _detail(request, _page(request, pk))


@require_POST
@requires(Capability.MONITOR_MANAGE)
def page_edit(request, pk):
    page = _page(request, pk, Capability.MONITOR_MANAGE)
    form = PageForm(request.POST)
    done = submit(
        request,
        form,
        lambda data: services.page_update(actor=request.actor, page=page, **_page_values(data)),
        success="Status page saved.",
        redirect_to=("statuspages:detail", page.pk),
    )
    return done.response or _detail(
        request, page, status=done.status, page_form=form, open_dialog="edit-page"
    )


@require_POST
@requires(Capability.MONITOR_MANAGE)
def page_remove(request, pk):
    page = _page(request, pk, Capability.MONITOR_MANAGE)
    return act(
        request,
        lambda: services.page_delete(actor=request.actor, page=page),
        success=f"Status page {page.title} deleted.",
        redirect_to="statuspages:list",
    )


def _component_values(data: dict) -> dict:
    return {k: data[k] for k in ("name", "group", "description", "monitors", "services", "show_uptime")}


@require_POST
@requires(Capability.MONITOR_MANAGE)
def component_add(request, pk):
    page = _page(request, pk, Capability.MONITOR_MANAGE)
    form = ComponentForm(request.POST, organization=request.organization)
    done = submit(
        request,
        form,
        lambda data: services.component_create(actor=request.actor, page=page, **_component_values(data)),
        success=lambda c: f"Component {c.name} added.",
        redirect_to=("statuspages:detail", page.pk),
    )
    return done.response or _detail(
        request, page, status=done.status, component_form=form, open_dialog="new-component"
    )


@require_POST
@requires(Capability.MONITOR_MANAGE)
def component_edit(request, pk):
    component = get_for_read_or_404(
        request, StatusComponent.objects.select_related("page"), Capability.MONITOR_MANAGE, pk=pk
    )
    form = ComponentForm(request.POST, organization=request.organization, prefix=f"c{component.pk}")
    done = submit(
        request,
        form,
        lambda data: services.component_update(
            actor=request.actor, component=component, **_component_values(data)
        ),
        success="Component saved.",
        redirect_to=("statuspages:detail", component.page_id),
    )
    return done.response or _detail(
        request,
        component.page,
        status=done.status,
        open_dialog=f"component-{component.pk}",
        **{f"component_{component.pk}": form},
    )


@require_POST
@requires(Capability.MONITOR_MANAGE)
def component_remove(request, pk):
    component = get_for_read_or_404(request, StatusComponent.objects.all(), Capability.MONITOR_MANAGE, pk=pk)
    return act(
        request,
        lambda: services.component_delete(actor=request.actor, component=component),
        success=f"Component {component.name} removed.",
        redirect_to=("statuspages:detail", component.page_id),
    )


@require_POST
@requires(Capability.INCIDENT_MANAGE)
def notice_add(request, pk, kind):
    page = _page(request, pk, Capability.INCIDENT_MANAGE)
    if kind == NoticeKind.INCIDENT:
        form, dialog, key = IncidentNoticeForm(request.POST, page=page), "new-incident", "incident_form"
    elif kind == NoticeKind.MAINTENANCE:
        form, dialog, key = (
            MaintenanceNoticeForm(request.POST, page=page),
            "new-maintenance",
            "maintenance_form",
        )
    else:
        return _detail(request, page, status=404)
    done = submit(
        request,
        form,
        lambda data: services.notice_open(actor=request.actor, page=page, kind=kind, **data),
        success=lambda n: f"{n.get_kind_display()} “{n.title}” published.",
        redirect_to=("statuspages:detail", page.pk),
    )
    return done.response or _detail(request, page, status=done.status, open_dialog=dialog, **{key: form})


@require_POST
@requires(Capability.INCIDENT_MANAGE)
def notice_post(request, pk):
    notice = get_for_read_or_404(
        request, StatusNotice.objects.select_related("page"), Capability.INCIDENT_MANAGE, pk=pk
    )
    form = UpdateForm(request.POST, notice=notice, prefix=f"n{notice.pk}")
    done = submit(
        request,
        form,
        lambda data: services.notice_update(actor=request.actor, notice=notice, **data),
        success="Update published.",
        redirect_to=("statuspages:detail", notice.page_id),
    )
    return done.response or _detail(
        request,
        notice.page,
        status=done.status,
        open_dialog=f"update-{notice.pk}",
        **{f"update_{notice.pk}": form},
    )


def _webhook(request, pk) -> StatusSubscriber:
    return get_for_read_or_404(
        request,
        StatusSubscriber.objects.filter(kind=SubscriberKind.WEBHOOK).select_related("page"),
        Capability.MONITOR_MANAGE,
        pk=pk,
    )


@require_POST
@requires(Capability.MONITOR_MANAGE)
def webhook_add(request, pk):
    page = _page(request, pk, Capability.MONITOR_MANAGE)
    form = WebhookForm(request.POST)
    done = submit(
        request,
        form,
        lambda data: services.webhook_add(actor=request.actor, page=page, **data),
        success="Webhook subscriber added.",
        redirect_to=None,  # the signing secret is shown on the page this once
    )
    if done.ok:
        return _detail(request, page, issued_secret=done.result.signing_secret)
    return _detail(request, page, status=done.status, webhook_form=form, open_dialog="new-webhook")


@require_POST
@requires(Capability.MONITOR_MANAGE)
def webhook_remove(request, pk):
    hook = _webhook(request, pk)
    return act(
        request,
        lambda: services.webhook_remove(actor=request.actor, subscriber=hook),
        success="Webhook subscriber removed.",
        redirect_to=("statuspages:detail", hook.page_id),
    )


@require_POST
@requires(Capability.MONITOR_MANAGE)
def webhook_enable(request, pk):
    hook = _webhook(request, pk)
    return act(
        request,
        lambda: services.webhook_enable(actor=request.actor, subscriber=hook),
        success="Webhook subscriber enabled: it receives the next updates.",
        redirect_to=("statuspages:detail", hook.page_id),
    )
