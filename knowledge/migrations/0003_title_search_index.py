"""A GIN index on the title's own search vector: search ranks a bounded candidate set, and the title
matches (which outrank body matches) are fetched first through this index so a common word cannot
push them out of the set. The expression is the title half of ``search_vector`` without its weight.
"""

from django.db import migrations

INDEX = """
CREATE INDEX knowledge_article_title_search ON knowledge_article
    USING gin (to_tsvector(search_config, coalesce(title, '')));
"""

UNDO = "DROP INDEX IF EXISTS knowledge_article_title_search;"


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search_vector")]

    operations = [migrations.RunSQL(INDEX, UNDO)]
