"""``summary.json``: the snapshot in the shape of Atlassian Statuspage's ``/api/v2/summary.json``, so
tools that already read Statuspage (dashboards, chat bots, other status pages) read this one too.

Groups are components with ``"group": true`` and the ids of their members, as Statuspage has them.
"""

from __future__ import annotations

from django.utils.text import slugify

from monitoring.statuspages.status import worst


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _group_id(name: str) -> str:
    return f"group-{slugify(name)}"


def _update(update, components) -> dict:
    return {
        "id": str(update.pk),
        "status": update.status,
        "body": update.body,
        "created_at": _iso(update.created_at),
        "updated_at": _iso(update.created_at),
        "display_at": _iso(update.created_at),
        "affected_components": [{"code": str(c.pk), "name": c.name} for c in components],
    }


def _notice(notice, page, base_url) -> dict:
    components = list(notice.components.all())
    data = {
        "id": str(notice.pk),
        "name": notice.title,
        "status": notice.status,
        "impact": notice.impact,
        "created_at": _iso(notice.created_at),
        "updated_at": _iso(notice.updated_at),
        "started_at": _iso(notice.created_at),
        "resolved_at": _iso(notice.resolved_at),
        "shortlink": f"{base_url}#notice-{notice.pk}",
        "page_id": page.slug,
        "incident_updates": [_update(u, components) for u in notice.updates.all()],
        "components": [{"id": str(c.pk), "name": c.name} for c in components],
    }
    if notice.kind == "maintenance":
        data["scheduled_for"] = _iso(notice.scheduled_for)
        data["scheduled_until"] = _iso(notice.scheduled_until)
    return data


def summary(snap: dict, *, base_url: str) -> dict:
    page = snap["page"]
    components = []
    for position, (group, members) in enumerate(snap["groups"], start=1):
        if group:
            components.append(
                {
                    "id": _group_id(group),
                    "name": group,
                    "status": worst(m.status for m in members),
                    "position": position,
                    "description": None,
                    "group": True,
                    "group_id": None,
                    "components": [str(m.id) for m in members],
                    "showcase": False,
                    "only_show_if_degraded": False,
                }
            )
        for member in members:
            components.append(
                {
                    "id": str(member.id),
                    "name": member.name,
                    "status": member.status,
                    "created_at": _iso(member.created_at),
                    "updated_at": _iso(member.updated_at),
                    "position": member.position,
                    "description": member.description or None,
                    "group": False,
                    "group_id": _group_id(group) if group else None,
                    "showcase": True,
                    "only_show_if_degraded": False,
                    "uptime_90d": member.uptime_percent if member.show_uptime else None,
                    "latency_ms_24h": member.latency_ms,
                }
            )
    return {
        "page": {
            "id": page.slug,
            "name": page.title,
            "url": base_url,
            "time_zone": "Etc/UTC",
            "updated_at": _iso(snap["generated_at"]),
        },
        "status": {"indicator": snap["indicator"], "description": snap["description"]},
        "components": components,
        "incidents": [_notice(n, page, base_url) for n in snap["active_incidents"]],
        "scheduled_maintenances": [_notice(n, page, base_url) for n in snap["maintenance"]],
    }
