"""Ids read from request input (query strings, form fields, admin selections).

``str.isdigit()`` is true for superscripts and other digits that ``int()`` refuses ("²"), and
``int()`` itself accepts non-ASCII decimal digits, signs and surrounding spaces: neither is a safe
test for "this is an id". One strict rule, used everywhere the app reads an id from a request.
"""

import re

# At most 18 digits: every such number fits PostgreSQL's bigint, so a lookup never overflows.
_ID = re.compile(r"[0-9]{1,18}")


def parse_id(value) -> int | None:
    """The id ``value`` spells in ASCII digits, or None for anything else."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return int(value)
    return None
