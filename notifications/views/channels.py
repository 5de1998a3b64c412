"""Channel pages. Secrets go in through these forms and never come back out."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from notifications.forms import ChannelEditForm, ChannelForm
from notifications.models import Channel
from notifications.services import channels as services
from opsplatform.access import member_required
from opsplatform.accounts.capabilities import Capability
from opsplatform.accounts.forms import add_service_errors, first_error
from opsplatform.tenancy import get_in_organization_or_404

SECRET_FIELDS = ("url", "auth_token")


def _channel(request, pk) -> Channel:
    return get_in_organization_or_404(Channel, request.organization, pk=pk)


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
@member_required
def channel_list(request):
    actor = request.actor
    actor.require(Capability.INTEGRATION_VIEW)
    form = ChannelForm()
    issued_secret = ""
    status = 200
    if request.method == "POST":
        actor.require(Capability.CHANNEL_MANAGE)
        form = ChannelForm(request.POST)
        if form.is_valid():
            try:
                issued = services.channel_create(actor=actor, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
                status = 400
            else:
                messages.success(request, f"Channel “{issued.channel.name}” created.")
                if not issued.signing_secret:
                    return redirect("notifications:channel_list")
                issued_secret = issued.signing_secret  # shown on this response only
                form = ChannelForm()
        else:
            status = 400
    context = {
        "channels": Channel.objects.for_organization(request.organization).order_by("name"),
        "form": form,
        "issued_secret": issued_secret,
        "can_manage": actor.can(Capability.CHANNEL_MANAGE),
    }
    return render(request, "notifications/channel_list.html", context, status=status)


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
@member_required
def channel_detail(request, pk):
    actor = request.actor
    actor.require(Capability.CHANNEL_MANAGE)
    channel = _channel(request, pk)
    initial = {
        "name": channel.name,
        "is_active": channel.is_active,
        "recipients": "\n".join(channel.config.get("recipients", [])),
        "account_sid": channel.config.get("account_sid", ""),
        "from_number": channel.config.get("from_number", ""),
    }
    form = ChannelEditForm(initial=initial, kind=channel.kind)
    status = 200
    if request.method == "POST":
        form = ChannelEditForm(request.POST, kind=channel.kind)
        if form.is_valid():
            try:
                services.channel_update(actor=actor, channel=channel, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
                status = 400
            else:
                messages.success(request, "Channel saved.")
                return redirect("notifications:channel_detail", pk=channel.pk)
        else:
            status = 400
    recent = channel.notifications.select_related("incident").order_by("-created_at")[:20]
    context = {"channel": channel, "form": form, "recent": recent}
    return render(request, "notifications/channel_detail.html", context, status=status)


@never_cache
@require_POST
@member_required
def channel_rotate(request, pk):
    request.actor.require(Capability.CHANNEL_MANAGE)
    channel = _channel(request, pk)
    try:
        issued = services.channel_rotate_signing_secret(actor=request.actor, channel=channel)
    except ValidationError as exc:
        messages.error(request, first_error(exc))
        return redirect("notifications:channel_detail", pk=channel.pk)
    context = {
        "channels": Channel.objects.for_organization(request.organization).order_by("name"),
        "form": ChannelForm(),
        "issued_secret": issued.signing_secret,
        "can_manage": True,
    }
    messages.success(request, f"New signing secret for “{channel.name}”; the old one no longer verifies.")
    return render(request, "notifications/channel_list.html", context)


@require_POST
@member_required
def channel_delete(request, pk):
    request.actor.require(Capability.CHANNEL_MANAGE)
    channel = _channel(request, pk)
    try:
        services.channel_delete(actor=request.actor, channel=channel)
    except ValidationError as exc:
        messages.error(request, first_error(exc))
        return redirect("notifications:channel_detail", pk=channel.pk)
    messages.success(request, f"Channel “{channel.name}” deleted.")
    return redirect("notifications:channel_list")
