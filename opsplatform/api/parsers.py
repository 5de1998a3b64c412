import json
import math

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from opsplatform.api.exceptions import PayloadTooLarge

# Deeper documents are refused: no payload we accept nests this far, and walking hostile depth
# costs stack.
MAX_JSON_DEPTH = 32


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # 1e400 parses to infinity, which no field can use: an id lookup overflows, jsonb refuses it.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:32]} is out of range")
    return value


def _depth_exceeds(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """JSON that never reads past ``API_MAX_BODY_BYTES`` (413 beyond), strict UTF-8, bounded depth.

    ``ApiBodyLimitMiddleware`` already refuses a declared oversized length; this catches bodies whose
    length was not declared or was understated.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError("The request body is not valid UTF-8.") from exc
        try:
            data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except RecursionError as exc:
            raise ParseError("The JSON document is nested too deeply.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error: {exc}") from exc
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(f"The JSON document is nested deeper than {MAX_JSON_DEPTH} levels.")
        return data
