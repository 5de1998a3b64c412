"""Article realtime events: small, after commit, to the organization's group; pages re-fetch.

The event names the article and its new revision number only: the edit page's banner partial then
re-reads with the viewer's own access, so nobody learns a title they may not read.
"""

from opsplatform.realtime.groups import organization_group, publish_after_commit


def publish_article_saved(article) -> None:
    publish_after_commit(
        organization_group(article.organization_id),
        {"kind": "article", "id": article.pk, "verb": "knowledge.article_saved"},
    )
