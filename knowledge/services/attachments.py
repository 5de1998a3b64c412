import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record
from knowledge.access import require_write
from knowledge.models import Article, Attachment
from knowledge.sniff import sniff
from opsplatform.core.actors import Actor

SNIFF_BYTES = 512
UNSAFE = re.compile(r"[^\w.\- ]+")


def clean_filename(name: str) -> str:
    """A name safe on disk and in a header: no path, no control or markup characters."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = UNSAFE.sub("_", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if dot:
        name = f"{stem[:150]}.{ext[:20]}"
    return name[:180] or "attachment"


def attachment_add(*, actor: Actor, article: Article, upload) -> Attachment:
    require_write(actor, article.space)
    limit = settings.KNOWLEDGE_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"file": f"The file is {upload.size:,} bytes; attachments are limited to {limit:,} bytes."}
        )
    upload.seek(0)
    content_type = sniff(upload.read(SNIFF_BYTES))
    upload.seek(0)
    if content_type is None:
        raise ValidationError(
            {"file": "This type of file is not accepted: attach PNG, JPEG, GIF, PDF or plain text."}
        )
    name = clean_filename(upload.name)
    with transaction.atomic():
        attachment = Attachment(
            organization=actor.organization,
            article=article,
            name=name,
            content_type=content_type,
            size=upload.size,
            uploaded_by=actor.user,
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
        record(
            actor=actor,
            verb="knowledge.attachment_added",
            target=article,
            data={
                "attachment": attachment.pk,
                "name": name,
                "size": upload.size,
                "content_type": content_type,
            },
        )
    return attachment
