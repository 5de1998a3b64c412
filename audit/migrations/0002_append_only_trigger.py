"""The ledger is append-only in the database itself, not just by convention in the ORM:
UPDATE and DELETE raise, whoever issues them (raw SQL, admin, a bug)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_ledgerentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_ledger_append_only
    BEFORE UPDATE OR DELETE ON audit_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION audit_ledger_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_ledger_append_only ON audit_ledgerentry;
DROP FUNCTION IF EXISTS audit_ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
