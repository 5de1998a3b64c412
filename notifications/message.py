"""On-call and notifications: a message that is not an incident page (an approval request, an
overdue task, an automation notice), for higher layers that reach people through the same senders.

``IncidentMessage`` carries what a page needs (severity, escalation step, acknowledge link); this one
carries only what every medium can show: a subject, a few lines, links (the first one is where to
look), and structured ``data`` for webhook receivers. Senders render it with ``build_message``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Message:
    #: what it is about, for webhook receivers (``workflow.approval_requested``)
    kind: str
    subject: str
    lines: tuple[str, ...]
    links: tuple[Link, ...]
    delivery_key: str
    organization: str = ""
    #: said after the links (how they work)
    note: str = ""
    #: sent to webhooks as they are (keys chosen by the caller: ``run``, ``approval``, ``task``)
    data: dict = field(default_factory=dict)

    def __post_init__(self):
        # A header and a chat title: every run of whitespace (line breaks too) becomes one space.
        object.__setattr__(self, "subject", " ".join(self.subject.split())[:200])

    @property
    def url(self) -> str:
        return self.links[0].url if self.links else ""

    def text(self) -> str:
        parts = [*self.lines, ""]
        parts += [f"{link.label}: {link.url}" for link in self.links]
        if self.note:
            parts += ["", self.note]
        return "\n".join(parts)

    def short_text(self) -> str:
        """For SMS: one segment if it can."""
        return f"{self.subject[:120]} {self.url}".strip()

    def spoken_text(self) -> str:
        where = f" for {self.organization}" if self.organization else ""
        return f"This is OpsPlatform{where}. {self.subject}. Please open OpsPlatform to answer it."
