"""The home page: "what needs me now", for every role, kept live over the organization websocket.

Each card is also served alone (``home:card``): the page re-fetches a card when the organization
channel reports a change of the kind it shows, so a live update costs one card's queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from opsplatform.core.access import member_required
from opsplatform.core.capabilities import Capability
from opsplatform.home.selectors import activity, attention, deliveries, mine, oncall, sla


@dataclass(frozen=True)
class Card:
    template: str
    capability: str
    live: str  # the realtime event kind that changes what the card shows
    build: Callable  # (request, now) -> context


CARDS = {
    "stats": Card(
        "home/cards/stats.html",
        Capability.INCIDENT_VIEW,
        "incident",
        lambda request, now: {"stats": attention.stats(request.organization)},
    ),
    "attention": Card(
        "home/cards/attention.html",
        Capability.INCIDENT_VIEW,
        "incident",
        lambda request, now: {"attention": attention.needs_attention(request.organization, now)},
    ),
    "mine": Card(
        "home/cards/mine.html",
        Capability.INCIDENT_VIEW,
        "incident",
        lambda request, now: {"mine": mine.my_incidents(request.organization, request.user, now)},
    ),
    "sla": Card(
        "home/cards/sla.html",
        Capability.INCIDENT_VIEW,
        "incident",
        lambda request, now: {"sla": sla.sla_watch(request.organization, now)},
    ),
    "oncall": Card(
        "home/cards/oncall.html",
        Capability.TEAM_VIEW,
        "ledger",  # schedule, override and swap changes are ledger entries
        lambda request, now: {"oncall": oncall.oncall_card(request.organization, request.actor, now)},
    ),
    # The delivery page needs incident.view: the card is shown to those who may follow its link.
    "deliveries": Card(
        "home/cards/deliveries.html",
        Capability.INCIDENT_VIEW,
        "ledger",
        lambda request, now: {"health": deliveries.delivery_health(request.organization, now)},
    ),
    "activity": Card(
        "home/cards/activity.html",
        Capability.INCIDENT_VIEW,
        "ledger",
        lambda request, now: {"activity": activity.recent_activity(request.organization, request.actor)},
    ),
}


def _card_context(request, name: str, now) -> dict:
    return {**CARDS[name].build(request, now), "now": now}


@require_safe
@login_required
def home(request):
    if request.organization is None:
        return render(request, "home/no_organization.html")
    now = timezone.now()
    context = {"now": now, "shown": []}
    for name, card in CARDS.items():
        if request.actor.can(card.capability):
            context.update(card.build(request, now))
            context["shown"].append(name)
    return render(request, "home/home.html", context)


@require_safe
@member_required
def card(request, name: str):
    spec = CARDS.get(name)
    if spec is None:
        raise Http404("No such card.")
    if not request.actor.can(spec.capability):
        raise PermissionDenied
    return render(request, spec.template, _card_context(request, name, timezone.now()))
