"""Readable names for the ledger's targets ("Incident #42 “Disk full on db-1”", "Service
“Payments API”", "User alice") instead of raw content types and ids.

The ledger sits below every app, so targets are found through the app registry by their stored
``app_label.model`` rather than by import. One query per target type on a page; an object that is
gone is named from what the ledger itself recorded about it (the ``name`` or ``title`` its
create/delete entries carry), and otherwise by type and id.
"""

from __future__ import annotations

from collections import defaultdict

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q

from audit.models import LedgerEntry

LABEL_KEYS = ("title", "name", "username")


def _model(target_type: str):
    try:
        app_label, model_name = target_type.split(".", 1)
        return apps.get_model(app_label, model_name)
    except (ValueError, LookupError):
        return None


def _kind(model) -> str:
    name = str(model._meta.verbose_name)
    return name[:1].upper() + name[1:]  # "SLA policy" stays "SLA policy"


def _label(model, pk, values: dict) -> str:
    kind = _kind(model)
    if model is get_user_model() and values.get("username"):
        return f"User {values['username']}"
    if values.get("title"):
        return f"{kind} #{pk} “{values['title']}”"
    if values.get("name"):
        return f"{kind} “{values['name']}”"
    return f"{kind} #{pk}"


def _id_list(model, ids):
    """Ids of the target type's primary key type; ids it cannot read are skipped."""
    clean = []
    for value in ids:
        try:
            key = model._meta.pk.to_python(value)
        except ValidationError:
            key = None
        # A stored id that is no valid key of its type (or out of BIGINT range) names nothing.
        if key is not None and not (isinstance(key, int) and not -(2**63) <= key < 2**63):
            clean.append(key)
    return clean


def target_labels(entries, organization) -> dict[tuple[str, str], str]:
    """``{(target_type, target_id): label}`` for the entries' targets."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.target_type and entry.target_id:
            wanted[entry.target_type].add(entry.target_id)
    labels = {}
    for target_type, ids in wanted.items():
        model = _model(target_type)
        if model is None:
            continue
        fields = {f.name for f in model._meta.concrete_fields}
        columns = [key for key in LABEL_KEYS if key in fields]
        objects = model._default_manager.filter(pk__in=_id_list(model, ids))
        # Never name another tenant's object, whatever id an entry carries.
        if "organization" in fields:
            objects = objects.filter(organization=organization)
        found = {str(row["pk"]): row for row in objects.values("pk", *columns)}
        for target_id, row in found.items():
            labels[(target_type, target_id)] = _label(model, target_id, row)
        missing = ids - set(found)
        if missing:
            labels.update(_gone_labels(model, target_type, missing, organization))
    return labels


def _gone_labels(model, target_type, ids, organization) -> dict[tuple[str, str], str]:
    recorded = (
        LedgerEntry.objects.filter(organization=organization, target_type=target_type, target_id__in=ids)
        .filter(Q(data__has_key="name") | Q(data__has_key="title") | Q(data__has_key="username"))
        .order_by("target_id", "-sequence")
        .values_list("target_id", "data")
    )
    remembered: dict[str, dict] = {}
    for target_id, data in recorded:
        if target_id not in remembered and isinstance(data, dict):
            values = {key: data.get(key) for key in LABEL_KEYS if isinstance(data.get(key), str)}
            if values:
                remembered[target_id] = values
    return {
        (target_type, target_id): _label(model, target_id, remembered.get(target_id, {})) + " (deleted)"
        for target_id in ids
    }


def label_for(entry, labels) -> str:
    if not entry.target_type:
        return ""
    return labels.get((entry.target_type, entry.target_id), f"{entry.target_type}:{entry.target_id}")
