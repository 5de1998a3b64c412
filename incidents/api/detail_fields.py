"""Fields that higher layers add to the incident detail response.

Incidents may not import the apps above them, so e.g. ``runbooks`` is contributed: the knowledge app
registers a callable in its ``AppConfig.ready`` and the detail serializer calls it. Unregistered, the
field is an empty list.

    register("runbooks", lambda incident, request: [...])
"""

from collections.abc import Callable

_contributors: dict[str, Callable] = {}


def register(field: str, contributor: Callable) -> None:
    _contributors[field] = contributor


def contribute(field: str, incident, request) -> list:
    contributor = _contributors.get(field)
    return [] if contributor is None else contributor(incident, request)
