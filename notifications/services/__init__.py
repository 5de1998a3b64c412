"""Every write of the paging app goes through these functions (see each module)."""
