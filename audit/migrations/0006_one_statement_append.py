"""The ledger append in one statement: ``audit_ledger_append`` locks the organization's chain, reads
its head and inserts the given entries with their sequences and version-2 hashes
(``audit.hashing.chain_link``), all in one round trip.

The chain stays locked until commit (a transaction-level advisory lock, as before), so what a
writer's round trips cost under the lock is what every other writer of the organization waits for:
lock, head read and insert used to be three, each waiting on the writer's process to be scheduled.

A VOLATILE PL/pgSQL function takes a fresh snapshot for each statement under READ COMMITTED, so the
head is read after the lock is granted and is the latest committed one.
"""

from django.db import migrations, models

FORWARD = """
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
    IF p_org IS NULL THEN
        SELECT e.sequence, e.entry_hash INTO head_sequence, head_hash FROM audit_ledgerentry e
            WHERE e.organization_id IS NULL ORDER BY e.sequence DESC LIMIT 1;
    ELSE
        SELECT e.sequence, e.entry_hash INTO head_sequence, head_hash FROM audit_ledgerentry e
            WHERE e.organization_id = p_org ORDER BY e.sequence DESC LIMIT 1;
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
"""

BACKWARD = """
DROP FUNCTION IF EXISTS audit_ledger_append(integer, bigint, text, text[], text[], text[], text[], text[],
                                            text[], text[], timestamptz[], text[]);
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_eventlog_outbox")]

    operations = [
        migrations.AddField(
            model_name="ledgerentry",
            name="hash_version",
            field=models.SmallIntegerField(db_default=1, default=1),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
