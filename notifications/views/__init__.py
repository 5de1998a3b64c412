"""The paging pages, one module per area."""
