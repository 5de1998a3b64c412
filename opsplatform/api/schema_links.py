"""OpenAPI links: what a client can do next with the object an answer names.

A postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``), so every app's routes get
them by one rule and none can be forgotten: an answer whose body is one object with an ``id``, of a
resource that has a detail route ``/api/v1/<resource>/{id}/``, links to every operation on that
route and on its actions (``/api/v1/<resource>/{id}/<action>/``), with ``id`` taken from the body.

The answers that link: a create (``POST /api/v1/<resource>/`` answering 201, and a create nested
under another object, ``POST /api/v1/schedules/{id}/overrides/``, whose object lives at
``/api/v1/overrides/{id}/``) and an update (``PATCH``/``PUT`` of the detail route). Clients and the
stateful fuzz test (``tests/api/test_schema_stateful.py``) follow them: create, then read, change,
act on and delete what was created.
"""

from __future__ import annotations

import re

DETAIL = re.compile(r"^(?P<collection>/api/v1/[a-z-]+/)\{id\}/(?:[a-z-]+/)?$")
NESTED_CREATE = re.compile(r"^/api/v1/[a-z-]+/\{id\}/(?P<resource>[a-z-]+)/$")
COLLECTION = re.compile(r"^/api/v1/[a-z-]+/$")
METHODS = ("get", "put", "patch", "post", "delete")


def _body_schema(response: dict, components: dict) -> dict | None:
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if not schema:
        return None
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = components.get(ref.rsplit("/", 1)[1], {})
    return schema


def _names_an_object(response: dict | None, components: dict) -> bool:
    schema = _body_schema(response or {}, components)
    return bool(schema) and schema.get("type", "object") == "object" and "id" in schema.get("properties", {})


def _targets(paths: dict) -> dict[str, list[str]]:
    """Per collection path, the operations (ids) an id of its objects leads to."""
    targets: dict[str, list[str]] = {}
    for path, item in paths.items():
        match = DETAIL.match(path)
        if match:
            operations = targets.setdefault(match["collection"], [])
            operations += [item[method]["operationId"] for method in METHODS if method in item]
    return targets


def _sources(paths: dict) -> list[tuple[dict, str, str]]:
    """(operation, the status of its answer, the collection of the object in it) for creates and
    updates."""
    sources = []
    for path, item in paths.items():
        if COLLECTION.match(path) and "post" in item:
            sources.append((item["post"], "201", path))
        elif (nested := NESTED_CREATE.match(path)) and "post" in item:
            sources.append((item["post"], "201", f"/api/v1/{nested['resource']}/"))
        elif (detail := DETAIL.match(path)) and path.endswith("{id}/"):
            sources += [(item[m], "200", detail["collection"]) for m in ("patch", "put") if m in item]
    return sources


def add_links(result, generator, request, public):
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})
    targets = _targets(paths)
    for operation, status, collection in _sources(paths):
        response = operation.get("responses", {}).get(status)
        if collection not in targets or not _names_an_object(response, components):
            continue
        response["links"] = {
            operation_id: {"operationId": operation_id, "parameters": {"id": "$response.body#/id"}}
            for operation_id in sorted(targets[collection])
        }
    return result
