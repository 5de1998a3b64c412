"""The person's notification settings: contact methods, their verification, rules, personal feed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from notifications import selectors
from notifications.forms import CodeForm, ContactForm, RuleForm
from notifications.models import ContactMethod, NotificationRule
from notifications.services import contacts as services
from notifications.services.schedules import calendar_feed_create
from opsplatform.core.access import member_required
from opsplatform.core.forms import add_service_errors, first_error


def _own_contact(request, pk) -> ContactMethod:
    # Somebody else's contact method answers 404 like a missing one.
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
    }
    return render(request, "notifications/settings.html", context, status=status)


@never_cache
@login_required
def notification_settings(request):
    if request.method != "POST":
        return _render(request)
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            issued = services.contact_method_add(actor=request.actor, user=request.user, **form.cleaned_data)
            contact = issued.contact
            if not contact.is_verified:
                services.contact_method_send_verification(
                    actor=request.actor, contact=contact, organization=request.organization
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if contact.is_verified:
                messages.success(request, "Contact method added.")
            else:
                messages.success(request, f"We sent a code to {contact.masked_address}; enter it below.")
            if issued.signing_secret:
                return _render(request, issued_secret=issued.signing_secret)
            return redirect("notifications:settings")
    return _render(request, form=form, status=400)


@require_POST
@login_required
def contact_send_code(request, pk):
    contact = _own_contact(request, pk)
    try:
        services.contact_method_send_verification(
            actor=request.actor, contact=contact, organization=request.organization
        )
    except ValidationError as exc:
        messages.error(request, first_error(exc))
    else:
        messages.success(request, f"A new code is on its way to {contact.masked_address}.")
    return redirect("notifications:settings")


@require_POST
@login_required
def contact_verify(request, pk):
    contact = _own_contact(request, pk)
    form = CodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the six-digit code.")
        return redirect("notifications:settings")
    try:
        services.contact_method_verify(actor=request.actor, contact=contact, code=form.cleaned_data["code"])
    except ValidationError as exc:
        messages.error(request, first_error(exc))
    else:
        messages.success(request, f"{contact.masked_address} is verified.")
    return redirect("notifications:settings")


@require_POST
@login_required
def contact_delete(request, pk):
    contact = _own_contact(request, pk)
    services.contact_method_delete(actor=request.actor, contact=contact)
    messages.success(request, "Contact method removed.")
    return redirect("notifications:settings")


@require_POST
@login_required
def rule_add(request):
    form = RuleForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.notification_rule_add(
                actor=request.actor,
                contact=form.cleaned_data["contact_method"],
                delay_minutes=form.cleaned_data["delay_minutes"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Rule added.")
            return redirect("notifications:settings")
    return _render(request, rule_form=form, status=400)


@require_POST
@login_required
def rule_delete(request, pk):
    rule = get_object_or_404(NotificationRule, pk=pk, user=request.user)
    services.notification_rule_delete(actor=request.actor, rule=rule)
    messages.success(request, "Rule removed.")
    return redirect("notifications:settings")


@never_cache
@require_POST
@member_required
def personal_feed_create(request):
    issued = calendar_feed_create(actor=request.actor, user=request.user)
    return _render(request, issued_feed=request.build_absolute_uri(issued.path))
