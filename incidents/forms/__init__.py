"""Page forms: ``incidents`` (incidents, services, the list filter) and ``integrations`` (integrations,
routing rules, maintenance windows, the mapping console)."""
