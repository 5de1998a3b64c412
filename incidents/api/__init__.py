"""``/api/v1/services/`` and ``/api/v1/incidents/``: the incident app's REST API.

Every write goes through ``incidents.services``; the list filters through the same form and selector
as the incident list page, so a query string means the same rows in both.
"""
