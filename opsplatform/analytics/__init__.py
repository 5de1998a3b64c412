"""Analytics: incident and on-call figures over a date range, answered from rollup tables.

The rollups are derived data: database triggers log which (organization, instant) an incident or a
delivery change touched, and a beat tick recomputes those days (``services/refresh.py``). Pages and
the API read only the rollups and a few small live queries (``selectors/``).
"""
