"""One module per payload format; each ``parse(data, *, integration)`` returns ``AlertEvent`` objects or
raises ``PayloadError`` naming every field that is wrong."""
