"""API pages of an event log, the same from either store: newest first, a keyset cursor
(the last entry's time and id), ``{"next", "previous", "results"}`` like the other cursor lists."""

from __future__ import annotations

import binascii
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from opsplatform.api.pagination import INVALID_CURSOR, MAX_PAGE_SIZE, page_size_from

CURSOR = "cursor"


def _encode(log, row) -> str:
    position = f"{getattr(row, log.time_field).isoformat()}|{row.pk}"
    return urlsafe_b64encode(position.encode()).decode("ascii")


def _decode(log, encoded: str | None):
    if encoded is None:
        return None
    try:
        moment, _, pk = urlsafe_b64decode(encoded.encode("ascii")).decode("ascii").partition("|")
        moment = datetime.fromisoformat(moment)
        pk = log.model_class._meta.pk.clean(pk, None)
    except (ValueError, UnicodeError, binascii.Error, DjangoValidationError) as exc:
        raise ValidationError({CURSOR: [INVALID_CURSOR]}) from exc
    if moment.tzinfo is None:
        raise ValidationError({CURSOR: [INVALID_CURSOR]})
    return moment, pk


def paginated_response(request, log, filters: dict, serializer_class, *, page_size: int = 50) -> Response:
    size = page_size_from(request, default=page_size, maximum=MAX_PAGE_SIZE)
    before = _decode(log, request.query_params.get(CURSOR))
    rows = log.find(filters, before=before, limit=size + 1)
    following = None
    if len(rows) > size:
        rows = rows[:size]
        url = request.build_absolute_uri()
        following = replace_query_param(url, CURSOR, _encode(log, rows[-1]))
    return Response({"next": following, "previous": None, "results": serializer_class(rows, many=True).data})
