"""On-call and notifications: every write goes through these functions (see each module)."""
