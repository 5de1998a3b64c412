"""On-call and notifications pages, one module per area."""
