"""On-call and notifications: who gets paged, and how they are reached.

Who gets paged: schedules and their rotations (``oncall`` computes who is on call), escalation
policies, and the escalation tick that runs their steps (``escalation/``). How they are reached: a
person's contact methods and rules, the organization's channels, the delivery outbox and its worker
(``delivery/``), and one sender per medium behind one interface (``senders/``).

Writes go through ``services/``, reads through ``selectors``; pages live in ``views/``, the REST API
in ``api/``, the Celery tasks in ``tasks``.
"""
