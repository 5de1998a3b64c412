"""The review tick: a review run moved from elsewhere (the run page, an approval gate) is picked up
here, since workflows sit below knowledge and never call it."""

import logging

from celery import shared_task

from opsplatform.core.actors import Actor

from .models import Postmortem, PostmortemStatus
from .services import reconcile_review

BATCH = 200
logger = logging.getLogger(__name__)


@shared_task(name="knowledge.postmortems.review_tick")
def review_tick() -> int:
    """Reconcile postmortems whose run's state no longer matches; returns how many changed."""
    candidates = (
        Postmortem.objects.filter(review_run__isnull=False)
        .exclude(status=PostmortemStatus.PUBLISHED)
        .select_related("organization", "review_run")
        .order_by("review_run__updated_at")[:BATCH]
    )
    changed = 0
    for postmortem in candidates:
        before = (postmortem.status, postmortem.review_run_id)
        try:
            after = reconcile_review(
                actor=Actor.system("knowledge.postmortems.review_tick", organization=postmortem.organization),
                postmortem=postmortem,
            )
        except Exception:
            # One bad row never stops the batch; the next tick tries it again.
            logger.exception("postmortem review reconcile failed", extra={"postmortem": postmortem.pk})
            continue
        changed += (after.status, after.review_run_id) != before
    return changed
