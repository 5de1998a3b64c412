"""On-call and notifications pages for channels. Secrets go in through these forms and never come
back out."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from incidents.views.pagination import lookahead_page
from notifications.forms import ChannelEditForm, ChannelForm
from notifications.models import Channel
from notifications.services import channels as services
from opsplatform.core.access import get_for_write_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, first_error, submit

SECRET_FIELDS = ("url", "auth_token")


def _render_list(request, *, form, issued_secret="", status=200):
    context = {
        "page": lookahead_page(
            Channel.objects.for_organization(request.organization).order_by("name"),
            request.GET.get("page"),
            25,
        ),
        "form": form,
        "open_new": (form.is_bound and bool(form.errors)) or "new" in request.GET,
        "issued_secret": issued_secret,  # shown on this response only
        "can_manage": request.actor.can(Capability.CHANNEL_MANAGE),
    }
    return render(request, "notifications/channel_list.html", context, status=status)


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
@requires(Capability.INTEGRATION_VIEW, post=Capability.CHANNEL_MANAGE)
def channel_list(request):
    if request.method != "POST":
        return _render_list(request, form=ChannelForm())
    form = ChannelForm(request.POST)
    done = submit(
        request,
        form,
        lambda data: services.channel_create(actor=request.actor, **data),
        success=lambda issued: f"Channel “{issued.channel.name}” created.",
        # A channel with a signing secret stays on this page, which shows the secret once.
        redirect_to=lambda issued: None if issued.signing_secret else "notifications:channel_list",
    )
    if done.response:
        return done.response
    if done.ok:
        return _render_list(request, form=ChannelForm(), issued_secret=done.result.signing_secret)
    return _render_list(request, form=form, status=done.status)


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
@requires(Capability.CHANNEL_MANAGE)
def channel_detail(request, pk):
    channel = get_for_write_or_404(request, Channel, Capability.CHANNEL_MANAGE, pk=pk)
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
        done = submit(
            request,
            form,
            lambda data: services.channel_update(actor=request.actor, channel=channel, **data),
            success="Channel saved.",
            redirect_to=("notifications:channel_detail", channel.pk),
        )
        if done.response:
            return done.response
        status = done.status
    recent = channel.notifications.select_related("incident").order_by("-created_at")[:20]
    context = {"channel": channel, "form": form, "recent": recent}
    return render(request, "notifications/channel_detail.html", context, status=status)


@never_cache
@require_POST
@requires(Capability.CHANNEL_MANAGE)
def channel_rotate(request, pk):
    channel = get_for_write_or_404(request, Channel, Capability.CHANNEL_MANAGE, pk=pk)
    try:
        issued = services.channel_rotate_signing_secret(actor=request.actor, channel=channel)
    except ValidationError as exc:
        messages.error(request, first_error(exc))
        return redirect("notifications:channel_detail", pk=channel.pk)
    messages.success(request, f"New signing secret for “{channel.name}”; the old one no longer verifies.")
    # Not a redirect: the new secret is shown on this response only.
    return _render_list(request, form=ChannelForm(), issued_secret=issued.signing_secret)


@require_POST
@requires(Capability.CHANNEL_MANAGE)
def channel_delete(request, pk):
    channel = get_for_write_or_404(request, Channel, Capability.CHANNEL_MANAGE, pk=pk)
    return act(
        request,
        lambda: services.channel_delete(actor=request.actor, channel=channel),
        success=f"Channel “{channel.name}” deleted.",
        redirect_to="notifications:channel_list",
        refused_to=("notifications:channel_detail", channel.pk),
    )
