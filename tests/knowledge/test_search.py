import pytest
from django.core.exceptions import ValidationError

from knowledge.access import readable_spaces
from knowledge.search import Filters, search
from knowledge.services.spaces import knowledge_settings_update
from tests.ledger import entries


def _filters(actor, **kwargs):
    return Filters(space_ids=list(readable_spaces(actor).values_list("pk", flat=True)), **kwargs)


def test_title_outranks_body_and_snippet_marks_matches(write, actor_as, org):
    in_body = write("Disk pressure", "When replication lags behind, check the replica disk.")
    in_title = write("Replication lag on Postgres", "Check pg_stat_replication first.")
    write("Unrelated", "Nothing to see here.")
    hits = search(org, "replication", _filters(actor_as("viewer")))
    assert [h.id for h in hits] == [in_title.pk, in_body.pk]
    assert hits[0].rank > hits[1].rank
    assert "<mark>replication</mark>" in hits[1].snippet.lower()


def test_websearch_syntax_phrase_and_exclusion(write, actor_as, org):
    both = write("Failover", "promote the replica then repoint the pooler")
    write("Pooler", "repoint the pooler to a replica, never promote")
    hits = search(org, '"promote the replica" -never', _filters(actor_as("viewer")))
    assert [h.id for h in hits] == [both.pk]


def test_snippet_escapes_article_markup(write, actor_as, org):
    write("XSS note", 'restart <img src=x onerror="alert(1)"> if 1 < 2 & "x" then restart the worker')
    hit = search(org, "restart", _filters(actor_as("viewer")))[0]
    assert "<mark>restart</mark>" in hit.snippet
    assert "<img" not in hit.snippet and "onerror" not in hit.snippet
    assert "&lt; 2 &amp; &quot;x&quot;" in hit.snippet
    assert hit.snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_german_configuration_stems_german_words(write, actor_as, org):
    knowledge_settings_update(actor=actor_as("manager"), search_config="german")
    article = write("Datenbanken neu starten", "Die Verbindungen der Datenbank prüfen.")
    # German stemming: "Datenbank" finds "Datenbanken", "Verbindung" finds "Verbindungen".
    hits = search(org, "Datenbank Verbindung", _filters(actor_as("viewer")))
    assert [h.id for h in hits] == [article.pk]
    assert "<mark>" in hits[0].snippet
    assert entries("knowledge.settings_updated").get().data == {
        "search_config": "german",
        "previous": "english",
    }


def test_existing_articles_are_reindexed_when_the_language_changes(write, actor_as, org):
    article = write("Verbindungen", "")
    # English stemming leaves "verbindungen" alone: full text misses, only the title similarity finds it.
    assert [(h.id, h.fuzzy) for h in search(org, "Verbindung", _filters(actor_as("viewer")))] == [
        (article.pk, True)
    ]
    knowledge_settings_update(actor=actor_as("manager"), search_config="german")
    hits = search(org, "Verbindung", _filters(actor_as("viewer")))
    assert [(h.id, h.fuzzy) for h in hits] == [(article.pk, False)]


def test_unknown_configuration_is_refused(actor_as):
    with pytest.raises(ValidationError) as exc:
        knowledge_settings_update(actor=actor_as("manager"), search_config="klingon")
    assert "klingon" in str(exc.value)


def test_trigram_fallback_for_typos(write, actor_as, org):
    article = write("Kubernetes node not ready", "kubectl describe node")
    hits = search(org, "kubrenetes", _filters(actor_as("viewer")))
    assert [h.id for h in hits] == [article.pk]
    assert hits[0].fuzzy is True


def test_filters_by_tag_and_service(write, actor_as, org, checkout):
    tagged = write("Restart checkout", "restart pods", tags=["k8s"], services=[checkout.pk])
    write("Restart billing", "restart pods", tags=["vm"])
    viewer = actor_as("viewer")
    assert [h.id for h in search(org, "restart", _filters(viewer, tag="k8s"))] == [tagged.pk]
    assert [h.id for h in search(org, "restart", _filters(viewer, service_id=checkout.pk))] == [tagged.pk]


def test_api_search_returns_id_title_snippet_rank(write, api_as):
    article = write("Certificate expiry", "Renew the certificate with certbot.")
    response = api_as("viewer").get("/api/v1/articles/", {"q": "certificate"})
    assert response.status_code == 200
    [hit] = response.json()["results"]
    assert hit["id"] == article.pk and hit["title"] == "Certificate expiry"
    assert "<mark>" in hit["snippet"] and hit["rank"] > 0


def test_search_only_sees_readable_spaces(write, payments_space, api_as, actor_as, org):
    write("Payments secret runbook", "rotate the gateway key", space=payments_space)
    assert search(org, "gateway", _filters(actor_as("viewer"))) == []
    assert api_as("viewer").get("/api/v1/articles/", {"q": "gateway"}).json()["results"] == []
    assert len(api_as("operator").get("/api/v1/articles/", {"q": "gateway"}).json()["results"]) == 1


def test_bounded_candidates_keep_title_matches_first_and_pages_consistent(write, actor_as, org, monkeypatch):
    """More matches than the ranked candidate set: the title matches are still fetched (through the
    title index) and outrank the rest; pages of the bounded ranking neither repeat nor skip a hit."""
    from knowledge import search as search_module

    monkeypatch.setattr(search_module, "CANDIDATES", 4)
    monkeypatch.setattr(search_module, "TITLE_CANDIDATES", 2)
    body_only = [write(f"Note {i}", "restart the worker, then restart the queue") for i in range(8)]
    in_title = write("Restart the ingestion pipeline", "drain the queue first")
    filters = _filters(actor_as("viewer"))
    first = search(org, "restart", filters, limit=3, offset=0)
    assert first[0].id == in_title.pk
    assert first[0].rank > first[1].rank
    # Pages rank the same bounded set (4 first matches and the title match): they neither repeat a
    # hit nor go on past the bound.
    second = search(org, "restart", filters, limit=3, offset=3)
    ids = [h.id for h in first + second]
    assert len(ids) == len(set(ids)) == 5
    assert set(ids) <= {a.pk for a in body_only} | {in_title.pk}
    assert search(org, "restart", filters, limit=3, offset=6) == []


def test_look_ahead_row_costs_no_snippet(write, actor_as, org):
    for i in range(3):
        write(f"Failover {i}", "promote the replica")
    hits = search(org, "replica", _filters(actor_as("viewer")), limit=3, snippets=2)
    assert len(hits) == 3
    assert all("<mark>replica</mark>" in h.snippet for h in hits[:2])
    assert hits[2].snippet == ""


def test_typo_fallback_without_pg_trgm(write, actor_as, org, monkeypatch):
    """A server without pg_trgm (the embedded PostgreSQL) compares the newest titles in-process."""
    from django.db import connection

    from knowledge import search as search_module

    monkeypatch.setitem(search_module._TRIGRAM, connection.alias, False)
    article = write("Kubernetes node not ready", "kubectl describe node")
    write("Disk full", "clean up")
    hits = search(org, "kubrenetes", _filters(actor_as("viewer")))
    assert [(h.id, h.fuzzy, h.snippet) for h in hits] == [(article.pk, True, "kubectl describe node")]
