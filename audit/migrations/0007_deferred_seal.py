"""Entries written now and sealed into the chain a moment later.

The hot writers (ingestion, escalation, delivery) used to append under the organization's chain
lock inside their own transactions, so every one of them waited for every other, holding its
incident rows meanwhile. Now they may *stage* entries: a plain insert with the entry's content
digest and no place in the chain yet (``sequence``, ``prev_hash`` and ``entry_hash`` NULL). A sealer
(``audit.sealing``) then takes the chain's lock once for many staged entries and numbers and hashes
them on from the head, in id order (``audit_ledger_seal``).

The append-only trigger allows exactly that one change: a staged entry's place in the chain set,
with the hash the database recomputes from its staged digest, and nothing else touched. Every other
UPDATE or DELETE is refused as before.
"""

from django.db import migrations, models
from django.db.models import Q

FORWARD = """
CREATE OR REPLACE FUNCTION audit_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('audit.archive_delete', true) = 'on' AND EXISTS (
        SELECT 1 FROM audit_ledgercheckpoint c
        WHERE ((OLD.organization_id IS NULL AND c.organization_id IS NULL)
               OR c.organization_id = OLD.organization_id)
          AND c.last_sequence >= OLD.sequence
    ) THEN
        RETURN OLD;
    END IF;
    -- Sealing a staged entry: its place in the chain, with the hash of its own staged digest.
    IF TG_OP = 'UPDATE' AND OLD.sequence IS NULL AND OLD.staged_digest IS NOT NULL
       AND NEW.sequence IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash_version = 2
       AND NEW.entry_hash = encode(sha256(convert_to(
               NEW.prev_hash || ':' || NEW.sequence::text || ':' || OLD.staged_digest, 'UTF8')), 'hex')
       AND (NEW.id, NEW.organization_id, NEW.actor_type, NEW.actor_id, NEW.actor_label, NEW.verb,
            NEW.target_type, NEW.target_id, NEW.data, NEW.created_at, NEW.staged_digest)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.organization_id, OLD.actor_type, OLD.actor_id, OLD.actor_label, OLD.verb,
            OLD.target_type, OLD.target_id, OLD.data, OLD.created_at, OLD.staged_digest)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_ledgerentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

-- The head is the last sealed entry: staged ones have no sequence yet.
CREATE OR REPLACE FUNCTION audit_ledger_head(p_org bigint, p_genesis text, OUT head_sequence bigint,
                                             OUT head_hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_org IS NULL THEN
        SELECT e.sequence, e.entry_hash INTO head_sequence, head_hash FROM audit_ledgerentry e
            WHERE e.organization_id IS NULL AND e.sequence IS NOT NULL ORDER BY e.sequence DESC LIMIT 1;
    ELSE
        SELECT e.sequence, e.entry_hash INTO head_sequence, head_hash FROM audit_ledgerentry e
            WHERE e.organization_id = p_org AND e.sequence IS NOT NULL ORDER BY e.sequence DESC LIMIT 1;
    END IF;
    -- No live entry: a new chain, or one whose archived tail left only its checkpoint behind.
    IF head_sequence IS NULL THEN
        SELECT c.last_sequence, c.last_hash INTO head_sequence, head_hash FROM audit_ledgercheckpoint c
            WHERE c.organization_id IS NOT DISTINCT FROM p_org ORDER BY c.last_sequence DESC LIMIT 1;
    END IF;
    IF head_sequence IS NULL THEN
        head_sequence := 0;
        head_hash := p_genesis;
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION audit_ledger_append(
    p_lock_namespace integer, p_org bigint, p_genesis text,
    p_actor_type text[], p_actor_id text[], p_actor_label text[], p_verb text[],
    p_target_type text[], p_target_id text[], p_data text[], p_created_at timestamptz[],
    p_content text[]
) RETURNS TABLE (out_id bigint, out_sequence bigint, out_prev text, out_hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head_sequence bigint;
    head_hash text;
    link text;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_namespace, coalesce(p_org, 0)::integer);
    SELECT h.head_sequence, h.head_hash INTO head_sequence, head_hash FROM audit_ledger_head(p_org, p_genesis) h;
    FOR i IN 1 .. coalesce(array_length(p_verb, 1), 0) LOOP
        head_sequence := head_sequence + 1;
        link := encode(sha256(convert_to(head_hash || ':' || head_sequence::text || ':' || p_content[i],
                                         'UTF8')), 'hex');
        INSERT INTO audit_ledgerentry (organization_id, sequence, actor_type, actor_id, actor_label, verb,
                                       target_type, target_id, data, created_at, prev_hash, entry_hash,
                                       hash_version)
        VALUES (p_org, head_sequence, p_actor_type[i], p_actor_id[i], p_actor_label[i], p_verb[i],
                p_target_type[i], p_target_id[i], p_data[i]::jsonb, p_created_at[i], head_hash, link, 2)
        RETURNING id INTO out_id;
        out_sequence := head_sequence;
        out_prev := head_hash;
        out_hash := link;
        RETURN NEXT;
        head_hash := link;
    END LOOP;
END;
$$;

-- Staging takes no lock: one insert per entry, in order, in one round trip.
CREATE OR REPLACE FUNCTION audit_ledger_stage(
    p_org bigint, p_actor_type text[], p_actor_id text[], p_actor_label text[], p_verb text[],
    p_target_type text[], p_target_id text[], p_data text[], p_created_at timestamptz[],
    p_content text[]
) RETURNS TABLE (out_id bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_verb, 1), 0) LOOP
        INSERT INTO audit_ledgerentry (organization_id, actor_type, actor_id, actor_label, verb,
                                       target_type, target_id, data, created_at, staged_digest,
                                       hash_version)
        VALUES (p_org, p_actor_type[i], p_actor_id[i], p_actor_label[i], p_verb[i],
                p_target_type[i], p_target_id[i], p_data[i]::jsonb, p_created_at[i], p_content[i], 2)
        RETURNING id INTO out_id;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- One lock for up to p_limit staged entries of one chain, sealed in id order from its head. A row
-- without a digest (not written by the app) can never be sealed: it is passed over, not in the way.
CREATE OR REPLACE FUNCTION audit_ledger_seal(p_lock_namespace integer, p_org bigint, p_genesis text,
                                             p_limit integer)
RETURNS TABLE (out_id bigint, out_sequence bigint, out_verb text, out_target_type text,
               out_target_id text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head_sequence bigint;
    head_hash text;
    link text;
    staged record;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_namespace, coalesce(p_org, 0)::integer);
    SELECT h.head_sequence, h.head_hash INTO head_sequence, head_hash FROM audit_ledger_head(p_org, p_genesis) h;
    FOR staged IN
        SELECT e.id, e.staged_digest, e.verb, e.target_type, e.target_id FROM audit_ledgerentry e
        WHERE e.sequence IS NULL AND e.staged_digest IS NOT NULL
          AND ((p_org IS NULL AND e.organization_id IS NULL) OR e.organization_id = p_org)
        ORDER BY e.id LIMIT p_limit
    LOOP
        head_sequence := head_sequence + 1;
        link := encode(sha256(convert_to(head_hash || ':' || head_sequence::text || ':'
                                         || staged.staged_digest, 'UTF8')), 'hex');
        UPDATE audit_ledgerentry SET sequence = head_sequence, prev_hash = head_hash, entry_hash = link
            WHERE id = staged.id;
        out_id := staged.id;
        out_sequence := head_sequence;
        out_verb := staged.verb;
        out_target_type := staged.target_type;
        out_target_id := staged.target_id;
        RETURN NEXT;
        head_hash := link;
    END LOOP;
END;
$$;
"""

BACKWARD = """
DROP FUNCTION IF EXISTS audit_ledger_seal(integer, bigint, text, integer);
DROP FUNCTION IF EXISTS audit_ledger_stage(bigint, text[], text[], text[], text[], text[], text[], text[],
                                           timestamptz[], text[]);
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_one_statement_append")]

    operations = [
        migrations.AlterModelOptions(
            name="ledgerentry",
            options={
                "default_manager_name": "objects",
                "ordering": ["organization_id", "sequence"],
                "verbose_name_plural": "ledger entries",
            },
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="staged_digest",
            field=models.CharField(max_length=64, null=True, blank=True),
        ),
        migrations.AlterField(model_name="ledgerentry", name="sequence", field=models.BigIntegerField(null=True)),
        migrations.AlterField(
            model_name="ledgerentry", name="prev_hash", field=models.CharField(max_length=64, null=True)
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="entry_hash",
            field=models.CharField(max_length=64, null=True, unique=True),
        ),
        migrations.RemoveConstraint(model_name="ledgerentry", name="ledger_sequence_unique"),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.UniqueConstraint(
                fields=("organization", "sequence"),
                condition=Q(sequence__isnull=False),
                name="ledger_sequence_unique",
                nulls_distinct=False,
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                fields=["organization", "id"], condition=Q(sequence__isnull=True), name="ledger_staged_idx"
            ),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
