"""On-call and notifications pages for the person's own settings: contact methods, their verification,
personal notification rules and the personal calendar feed.

These belong to the person, not to an organization: they need a signed-in user only, and somebody
else's contact method or rule answers 404 like a missing one.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from notifications import selectors
from notifications.forms import CodeForm, ContactForm, RuleForm
from notifications.models import ContactMethod, NotificationRule
from notifications.services import contacts as services
from notifications.services.calendar_feeds import calendar_feed_create
from notifications.web_push import vapid
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit


def _own_contact(request, pk) -> ContactMethod:
    return get_object_or_404(ContactMethod, pk=pk, user=request.user)


def _render(request, *, form=None, rule_form=None, issued_secret="", issued_feed="", status=200):
    user = request.user
    context = {
        "contacts": user.contact_methods.order_by("kind", "id"),
        "rules": user.notification_rules.select_related("contact_method").order_by("delay_minutes", "id"),
        "form": form or ContactForm(),
        "rule_form": rule_form or RuleForm(user=user),
        "code_form": CodeForm(),
        "issued_secret": issued_secret,
        "issued_feed": issued_feed,
        "feeds": selectors.active_feeds(request.organization, user=user) if request.organization else [],
        "push_key": vapid.public_key() if vapid.enabled() else "",
    }
    return render(request, "notifications/settings.html", context, status=status)


def _added_message(issued) -> str:
    contact = issued.contact
    if contact.is_verified:
        return "Contact method added."
    return f"We sent a code to {contact.masked_address}; enter it below."


@never_cache
@login_required
def notification_settings(request):
    if request.method != "POST":
        return _render(request)

    @transaction.atomic
    def add(data):
        # One transaction: a code refused (too many this hour) leaves no half-added contact behind.
        issued = services.contact_method_add(actor=request.actor, user=request.user, **data)
        if not issued.contact.is_verified:
            services.contact_method_send_verification(
                actor=request.actor, contact=issued.contact, organization=request.organization
            )
        return issued

    form = ContactForm(request.POST)
    done = submit(
        request,
        form,
        add,
        success=_added_message,
        # A webhook contact's signing secret is shown on this response only.
        redirect_to=lambda issued: None if issued.signing_secret else "notifications:settings",
    )
    if done.response:
        return done.response
    if done.ok:
        return _render(request, issued_secret=done.result.signing_secret)
    return _render(request, form=form, status=done.status)


@require_POST
@login_required
def contact_send_code(request, pk):
    contact = _own_contact(request, pk)
    return act(
        request,
        lambda: services.contact_method_send_verification(
            actor=request.actor, contact=contact, organization=request.organization
        ),
        success=f"A new code is on its way to {contact.masked_address}.",
        redirect_to="notifications:settings",
    )


@require_POST
@login_required
def contact_verify(request, pk):
    contact = _own_contact(request, pk)
    form = CodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the six-digit code.")
        return redirect("notifications:settings")
    return act(
        request,
        lambda: services.contact_method_verify(
            actor=request.actor, contact=contact, code=form.cleaned_data["code"]
        ),
        success=f"{contact.masked_address} is verified.",
        redirect_to="notifications:settings",
    )


@require_POST
@login_required
def contact_delete(request, pk):
    contact = _own_contact(request, pk)
    return act(
        request,
        lambda: services.contact_method_delete(actor=request.actor, contact=contact),
        success="Contact method removed.",
        redirect_to="notifications:settings",
    )


@require_POST
@login_required
def rule_add(request):
    form = RuleForm(request.POST, user=request.user)
    done = submit(
        request,
        form,
        lambda data: services.notification_rule_add(
            actor=request.actor, contact=data["contact_method"], delay_minutes=data["delay_minutes"]
        ),
        success="Rule added.",
        redirect_to="notifications:settings",
    )
    return done.response or _render(request, rule_form=form, status=done.status)


@require_POST
@login_required
def rule_delete(request, pk):
    rule = get_object_or_404(NotificationRule, pk=pk, user=request.user)
    return act(
        request,
        lambda: services.notification_rule_delete(actor=request.actor, rule=rule),
        success="Rule removed.",
        redirect_to="notifications:settings",
    )


@never_cache
@require_POST
@requires(Capability.TEAM_VIEW)
def personal_feed_create(request):
    issued = calendar_feed_create(actor=request.actor, user=request.user)
    return _render(request, issued_feed=request.build_absolute_uri(issued.path))
