"""A run's field values: small scalars under known keys, checked on every write (stored data can
never break a read)."""

from django.core.exceptions import ValidationError

MAX_FIELDS = 30
MAX_VALUE = 10_000


def clean_fields(spec, fields) -> dict:
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        raise ValidationError({"fields": "An object of field values."})
    if len(fields) > MAX_FIELDS:
        raise ValidationError({"fields": f"At most {MAX_FIELDS} fields."})
    cleaned = {}
    for key, value in fields.items():
        if not isinstance(key, str) or not key or len(key) > 48:
            raise ValidationError({"fields": "Field names are 1 to 48 characters."})
        if spec.field_keys and key not in spec.field_keys:
            raise ValidationError(
                {f"fields.{key}": f"Not a field of this workflow ({', '.join(spec.field_keys)})."}
            )
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValidationError({f"fields.{key}": "A text, number or true/false value."})
        if isinstance(value, str) and len(value.strip()) > MAX_VALUE:
            raise ValidationError({f"fields.{key}": f"At most {MAX_VALUE:,} characters."})
        cleaned[key] = value.strip() if isinstance(value, str) else value
    return cleaned


def missing(required: tuple[str, ...], values: dict) -> list[str]:
    return [key for key in required if values.get(key) in (None, "", False)]


def clean_comment(comment: str) -> str:
    comment = (comment or "").strip()
    if len(comment) > 5000:
        raise ValidationError({"comment": "A comment is at most 5,000 characters."})
    return comment
