"""The one way ledger rows leave the database: archived spans, through one function.

The append-only trigger still refuses every UPDATE, and every DELETE but one kind: inside
``audit_ledger_delete_archived`` (which sets the transaction-local flag ``audit.archive_delete``
around its own DELETE and clears it after), and only for rows a checkpoint covers. A DELETE issued
anywhere else, or of a row no checkpoint covers, is refused as before. The function is
SECURITY DEFINER so a deployment can revoke DELETE on the table from the application's role and
grant it EXECUTE on this function alone (docs/data-lifecycle.md).

Checkpoints are append-only the same way: a checkpoint is the evidence for the span it covers.
"""

from django.db import migrations

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
    RAISE EXCEPTION 'audit_ledgerentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit_ledger_delete_archived(p_org bigint, p_upto bigint, p_limit integer)
RETURNS integer AS $$
DECLARE
    removed integer;
    covered bigint;
BEGIN
    -- Never past the latest checkpoint, whatever the caller asks: the trigger would refuse anyway.
    SELECT max(last_sequence) INTO covered FROM audit_ledgercheckpoint
        WHERE (p_org IS NULL AND organization_id IS NULL) OR organization_id = p_org;
    p_upto := LEAST(p_upto, coalesce(covered, 0));
    PERFORM set_config('audit.archive_delete', 'on', true);
    IF p_org IS NULL THEN
        DELETE FROM audit_ledgerentry WHERE id IN (
            SELECT id FROM audit_ledgerentry
            WHERE organization_id IS NULL AND sequence <= p_upto
            ORDER BY sequence LIMIT p_limit
        );
    ELSE
        DELETE FROM audit_ledgerentry WHERE id IN (
            SELECT id FROM audit_ledgerentry
            WHERE organization_id = p_org AND sequence <= p_upto
            ORDER BY sequence LIMIT p_limit
        );
    END IF;
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('audit.archive_delete', 'off', true);
    RETURN removed;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public;

CREATE OR REPLACE FUNCTION audit_checkpoint_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_ledgercheckpoint is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON audit_ledgercheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_ledgercheckpoint;
DROP FUNCTION IF EXISTS audit_checkpoint_refuse_change();
DROP FUNCTION IF EXISTS audit_ledger_delete_archived(bigint, bigint, integer);
CREATE OR REPLACE FUNCTION audit_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_ledgerentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_lifecycle")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
