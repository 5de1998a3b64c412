"""Every write of the knowledge base: check access, lock, change, record in the ledger, publish."""
