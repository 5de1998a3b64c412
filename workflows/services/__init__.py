"""Every write of the workflows app (definitions, runs and their transitions, approvals, tasks)."""
