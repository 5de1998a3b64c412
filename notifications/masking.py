"""On-call and notifications: addresses as they may appear in pages, the ledger and logs, enough to
recognize and not to use."""

from urllib.parse import urlsplit


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    if not domain:
        return "…"
    return f"{local[:1]}…@{domain}"


def mask_phone(number: str) -> str:
    digits = number.strip()
    return f"{digits[:3]}…{digits[-4:]}" if len(digits) > 7 else "…"


def mask_url(url: str) -> str:
    """Scheme and host only: the path of a Slack or Teams webhook URL is its credential."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "…"
    return f"{parts.scheme}://{parts.hostname}/…" if parts.hostname else "…"


def mask_address(kind: str, address: str) -> str:
    if kind == "email":
        return mask_email(address)
    if kind in ("sms", "voice"):
        return mask_phone(address)
    if kind in ("webhook", "web_push"):
        return mask_url(address)
    return address
