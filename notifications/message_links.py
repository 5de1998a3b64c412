"""Links that higher layers add to an incident's page message, such as its best runbook.

Notifications may not import the apps above them (knowledge sits higher in the layer contract), so a
link is contributed: the knowledge app registers a provider in its ``AppConfig.ready`` and the
delivery worker asks every provider while it prepares a message (in its main thread, where the
database may be read). A provider answers one :class:`MessageLink` or None.

    register("runbook", lambda incident, recipient: MessageLink("Runbook", title, path))

``recipient`` is the person the message is for, or None for a room (an organization's channel),
where only what every member may read belongs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessageLink:
    label: str  # what the link is ("Runbook")
    title: str  # what it points at, plain text (each medium escapes it)
    url: str  # absolute


_providers: dict[str, Callable] = {}


def register(name: str, provider: Callable) -> None:
    _providers[name] = provider


def links_for(incident, *, recipient=None) -> tuple[MessageLink, ...]:
    """Every provider's link, in registration order. A provider that fails costs its link only: the
    page itself must still go out (invariant 13)."""
    links = []
    for name, provider in _providers.items():
        try:
            link = provider(incident, recipient)
        except Exception as exc:
            logger.warning(
                "message link %s failed for incident %s: %s", name, incident.pk, type(exc).__name__
            )
            continue
        if link is not None:
            links.append(link)
    return tuple(links)
