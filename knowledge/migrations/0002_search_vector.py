"""The stored search vector (title weighted A above body B) and the indexes search reads.

A generated column, so PostgreSQL keeps it in step with every write (bulk SQL included); the
configuration is the row's own ``search_config`` (regconfig), which makes the expression immutable.
"""

from django.db import migrations

VECTOR = """
ALTER TABLE knowledge_article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(search_config, coalesce(title, '')), 'A') ||
    setweight(to_tsvector(search_config, coalesce(body, '')), 'B')
) STORED;
CREATE INDEX knowledge_article_search ON knowledge_article USING gin (search_vector);
-- pg_trgm is a contrib module: a server without it (the embedded PostgreSQL of `make run` and
-- `make test`) searches typos with the slower in-process fallback of knowledge/search.py instead.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX knowledge_article_title_trgm ON knowledge_article USING gin (title gin_trgm_ops);
    END IF;
END
$$;
CREATE INDEX knowledge_article_tags ON knowledge_article USING gin (tags);
"""

UNDO = """
DROP INDEX IF EXISTS knowledge_article_tags;
DROP INDEX IF EXISTS knowledge_article_title_trgm;
DROP INDEX IF EXISTS knowledge_article_search;
ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search_vector;
"""


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunSQL(VECTOR, UNDO)]
