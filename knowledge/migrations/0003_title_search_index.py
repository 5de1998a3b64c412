"""Search indexes for a read-heavy knowledge base.

A GIN index on the title's own search vector: search ranks a bounded candidate set, and the title
matches (which outrank body matches) are fetched first through this index so a common word cannot
push them out of the set. The expression is the title half of ``search_vector`` without its weight.

``fastupdate`` off on the search's GIN indexes: with it on, new entries wait in a pending list (up to
4 MB) that every search scans linearly until a vacuum merges it; after a bulk import that was most of
a rare word's search time (36 ms of 60, measured). Articles are written at human pace, so writes pay
for the index update instead of every read.
"""

from django.db import migrations

INDEX = """
CREATE INDEX knowledge_article_title_search ON knowledge_article
    USING gin (to_tsvector(search_config, coalesce(title, ''))) WITH (fastupdate = off);
ALTER INDEX knowledge_article_search SET (fastupdate = off);
SELECT gin_clean_pending_list('knowledge_article_search'::regclass);
DO $$
BEGIN
    IF to_regclass('knowledge_article_title_trgm') IS NOT NULL THEN
        ALTER INDEX knowledge_article_title_trgm SET (fastupdate = off);
        PERFORM gin_clean_pending_list('knowledge_article_title_trgm'::regclass);
    END IF;
END
$$;
"""

UNDO = """
DROP INDEX IF EXISTS knowledge_article_title_search;
ALTER INDEX knowledge_article_search RESET (fastupdate);
DO $$
BEGIN
    IF to_regclass('knowledge_article_title_trgm') IS NOT NULL THEN
        ALTER INDEX knowledge_article_title_trgm RESET (fastupdate);
    END IF;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search_vector")]

    operations = [migrations.RunSQL(INDEX, UNDO)]
