"""A seal that does not wait for the chain.

Every process has a sealer (``audit.sealing``), and each took the chain's lock with a blocking
wait: in a storm the sealers of five processes queued on one another, each holding a database
connection of its process (one of the web's pooled few) for as long as it waited. The one holding
the lock seals everything staged before it began, so a sealer that finds the chain held can come
back a moment later instead of waiting: ``audit_ledger_try_seal`` seals as ``audit_ledger_seal``
does when the lock is free, and returns one row of NULLs at once when it is not.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_ledger_try_seal(p_lock_namespace integer, p_org bigint, p_genesis text,
                                                 p_limit integer)
RETURNS TABLE (out_id bigint, out_sequence bigint, out_verb text, out_target_type text,
               out_target_id text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(p_lock_namespace, coalesce(p_org, 0)::integer) THEN
        RETURN NEXT;  -- all NULL: the chain is held
        RETURN;
    END IF;
    -- The lock is this transaction's now; audit_ledger_seal takes it again without waiting.
    RETURN QUERY SELECT * FROM audit_ledger_seal(p_lock_namespace, p_org, p_genesis, p_limit);
END;
$$;
"""

BACKWARD = "DROP FUNCTION IF EXISTS audit_ledger_try_seal(integer, bigint, text, integer);"


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_deferred_seal")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
