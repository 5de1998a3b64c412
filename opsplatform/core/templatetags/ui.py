"""Template tags of the design system (docs/design-system.md): one way to draw each component."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

from opsplatform.core.timefmt import countdown_text, relative_text, short_duration

register = template.Library()


def _resolve(target, args) -> str:
    """A URL name (``"incidents:list"``) with its arguments, or a path given as is."""
    if isinstance(target, str) and ":" in target and not target.startswith("/"):
        try:
            return reverse(target, args=args)
        except NoReverseMatch:
            return target
    return str(target)


@register.simple_tag(takes_context=True)
def tab(context, target, label, *args, exact=False, match=""):
    """A link in a tab bar or the main navigation, marked current when the page is under it.

    ``exact`` for a tab whose URL is a prefix of its siblings' (an "Overview" tab); ``match`` when
    the section spans other paths: space-separated prefixes, a trailing ``$`` meaning "this path
    exactly" (``match="/oncall/$ /oncall/schedules/"``)."""
    url = _resolve(target, args)
    path = getattr(context.get("request"), "path", "")
    own = url.split("?")[0]
    patterns = match.split() if match else [own + ("$" if exact else "")]
    if any(_matches(path, pattern) for pattern in patterns):
        return format_html('<a href="{}" aria-current="page">{}</a>', url, label)
    return format_html('<a href="{}">{}</a>', url, label)


def _matches(path: str, pattern: str) -> bool:
    if pattern.endswith("$"):
        return path == pattern[:-1]
    return path == pattern or path.startswith(pattern.rstrip("/") + "/")


@register.simple_tag
def reltime(value, now=None):
    """``<time>`` reading "4 min ago" / "in 2 h", exact time on hover; app.js keeps it fresh."""
    if not isinstance(value, datetime):
        return "—"
    now = now or timezone.now()
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}" data-relative>{}</time>',
        value.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        relative_text(value, now),
    )


@register.simple_tag
def countdown(deadline, now=None):
    """Time left until a deadline (SLA), "overdue by …" past it; app.js ticks it every second."""
    if not isinstance(deadline, datetime):
        return "—"
    now = now or timezone.now()
    css = "countdown overdue" if deadline <= now else "countdown"
    return format_html(
        '<time class="{}" datetime="{}" title="{}" data-countdown>{}</time>',
        css,
        deadline.isoformat(),
        timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M:%S %Z"),
        countdown_text(deadline, now),
    )


@register.simple_tag
def severity(value, label=None):
    """Colour-coded severity badge; the same colours as severity rows and chart series."""
    if not value:
        return format_html('<span class="sev" style="background:var(--faint)">{}</span>', "—")
    return format_html('<span class="sev sev-{}">{}</span>', value, label or str(value).upper())


@register.simple_tag
def person(user, me=None):
    """A person as a pill with initials; highlighted when it is the viewer."""
    if user is None:
        return format_html('<span class="muted">{}</span>', "nobody")
    name = str(user)
    initials = "".join(part[0] for part in name.replace(".", " ").replace("-", " ").split()[:2]) or "?"
    css = "pill me" if me is not None and getattr(me, "pk", None) == user.pk else "pill"
    return format_html(
        '<span class="{}"><span class="avatar" aria-hidden="true">{}</span>{}</span>', css, initials, name
    )


@register.inclusion_tag("components/empty_state.html")
def empty_state(title, text="", action_url="", action_label=""):
    """What an empty list says: why it is empty and what to do next."""
    return {"title": title, "text": text, "action_url": action_url, "action_label": action_label}


@register.inclusion_tag("components/pagination.html", takes_context=True)
def pagination(context, page, param="page", total=None):
    """Previous/next links for a Django ``Page`` or a look-ahead page, keeping the other filters."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else None

    def link(number):
        if query is None:
            return f"?{param}={number}"
        q = query.copy()
        q[param] = number
        return "?" + q.urlencode()

    paginator = getattr(page, "paginator", None)
    return {
        "page": page,
        "previous_url": link(page.previous_page_number()) if page and page.has_previous else "",
        "next_url": link(page.next_page_number()) if page and page.has_next else "",
        "num_pages": getattr(paginator, "num_pages", None),
        "total": total if total is not None else getattr(paginator, "count", None),
    }


@register.inclusion_tag("components/cursor_pagination.html")
def cursor_pagination(previous_url="", next_url=""):
    """Newer/older links for cursor-paged lists (the ledger, deliveries)."""
    return {"previous_url": previous_url, "next_url": next_url}


@register.filter
def seconds(value):
    """A timedelta or a number of seconds as a short duration ("1 h 05 m")."""
    if value is None or value == "":
        return "—"
    total = int(value.total_seconds() if isinstance(value, timedelta) else float(value))
    return short_duration(total)
