"""Hypothesis strategies for hostile ingestion bodies: JSON text (not Python values, so that numbers
such as 1e400 and lone surrogate escapes can be spelled), and valid sample payloads with one field
replaced by such text."""

import json

from hypothesis import strategies as st

from opsplatform.api.parsers import MAX_JSON_DEPTH

ODD_TIMESTAMPS = [
    "9999-12-31T23:59:59-23:00",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+23:59",
    "0001-01-02T00:00:00+23:59",
    "2026-02-30T10:00:00Z",
    "2026-03-14T09:26:53.123456789123Z",
    "2026-03-14T25:00:00Z",
    "2026-03-14T09:26:53+2400",
    "2026-03-14",
    "",
    " ",
]
_PLACEHOLDER = "\x01hostile-value\x01"
SPECIAL_TEXT = ["\ud800", "a\udfffb", "\udc00\ud800", "\x00", "nul\x00inside"]

# Every code point, lone surrogates and NUL included.
_any_char = st.characters(exclude_categories=())
text_values = st.one_of(
    st.text(_any_char, max_size=40),
    st.sampled_from(ODD_TIMESTAMPS),
    st.sampled_from([*SPECIAL_TEXT, "firing", "resolved", "critical", "trigger", "sev1"]),
)
_scalar_text = st.one_of(
    st.just("null"),
    st.sampled_from(
        ["true", "false", "1e400", "-1e400", "1E-400", "0", "-0", "1.5", "123456789012345678901234567890"]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    text_values.map(json.dumps),  # ASCII escapes: a surrogate stays a \u escape in the body
)


def _array(children):
    return st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]")


def _object(children):
    pairs = st.lists(st.tuples(text_values.map(json.dumps), children), max_size=4)
    return pairs.map(lambda items: "{" + ",".join(f"{k}:{v}" for k, v in items) + "}")


json_text = st.recursive(_scalar_text, lambda c: st.one_of(_array(c), _object(c)), max_leaves=12)


@st.composite
def deep(draw):
    """Nesting around the parser's limit, on both sides of it."""
    depth = draw(st.integers(min_value=1, max_value=MAX_JSON_DEPTH + 3))
    return "[" * depth + draw(_scalar_text) + "]" * depth


any_json = st.one_of(json_text, deep())
# As a replacement field value: the known-hostile strings as often as arbitrary JSON.
_replacement = st.one_of(
    st.sampled_from(SPECIAL_TEXT).map(json.dumps),
    st.sampled_from(ODD_TIMESTAMPS).map(json.dumps),
    st.sampled_from(["1e400", "-1e400", "123456789012345678901234567890"]),
    any_json,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            yield from _paths(item, (*prefix, index))


@st.composite
def mutated(draw, sample: dict, keep=()):
    """``sample`` as JSON text with one field (any depth, not in ``keep``) replaced by hostile
    JSON text, or a new hostile field added next to it."""
    paths = [p for p in _paths(sample) if p and p[0] not in keep]
    path = draw(st.sampled_from(paths))
    if draw(st.booleans()) and isinstance(_get(sample, path[:-1]), dict):
        path = (*path[:-1], draw(text_values))
    document = json.loads(json.dumps(sample))
    _set(document, path, _PLACEHOLDER)
    return json.dumps(document).replace(json.dumps(_PLACEHOLDER), draw(_replacement), 1)


def _get(document, path):
    for step in path:
        document = document[step]
    return document


def _set(document, path, value):
    _get(document, path[:-1])[path[-1]] = value


raw_bytes = st.one_of(st.binary(max_size=200), any_json.map(lambda text: text.encode()))
