"""What an uploaded file really is, from its first bytes (the client's content type is not trusted)."""

SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
]
ALLOWED = {"image/png", "image/jpeg", "image/gif", "application/pdf", "text/plain"}


def sniff(head: bytes) -> str | None:
    """The content type of a file starting with ``head``, or None when it is none we accept.

    Text is accepted only as UTF-8 without NUL bytes and without markup at its start, so an HTML
    or SVG file cannot pass as text/plain (it is served as an attachment anyway)."""
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    if text.lstrip().startswith("<"):
        return None
    return "text/plain"
