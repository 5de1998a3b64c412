"""Database actions of one organization, a chunk to a transaction (``runner.run_claimed``).

The rows are re-locked and fenced by their attempt numbers, their incidents locked up front, and
the actions run one after another without savepoints; if one raises, the transaction is rolled back
and the chunk runs again with each action in a savepoint of its own (one that fails rolls back
alone and is recorded as failed). Their outcomes are written with one UPDATE, their ledger entries
appended together at the end and the realtime pushes of the lot sent in one trip after commit. An
action's change and its "succeeded" commit together or not at all.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from audit.services import record_many
from incidents.models import Incident
from opsplatform.core import memo
from opsplatform.realtime.groups import one_trip
from workflows.automation import actions
from workflows.automation.actions import Skip
from workflows.automation.executions import RELATED, S, entry_data, message, settle
from workflows.automation.models import AutomationExecution

# Database actions of one organization per transaction: at most CHUNK of them, and none started
# after CHUNK_SECONDS. From its first ledger entry the transaction holds the organization's chain
# until commit, so every other writer of that organization (new incidents included) waits for the
# chunk: short enough to keep that wait small on a loaded machine, long enough to share the commit,
# the ledger append and the realtime trip among many actions.
CHUNK = 50
CHUNK_SECONDS = 0.1


class _Unsettled(Exception):
    """An action of a chunk run without savepoints raised: the chunk's transaction is rolled back
    and the chunk run again, each action in a savepoint of its own."""


def database_chunk(chunk: list[tuple[int, int]], now=None) -> tuple[list, list, list]:
    """Run ``(execution id, attempt)`` pairs of one organization in one transaction, until
    ``CHUNK_SECONDS`` have passed: (the rows finished, the pairs to run alone after it, the pairs
    not started, for the next chunk).

    First without a savepoint per action (two round trips each, for nothing when every action
    succeeds); if one raises, the transaction is rolled back whole and the chunk runs again with
    savepoints, so the failing action rolls back alone and is recorded as failed."""
    try:
        return _run_chunk(chunk, now, savepoints=False)
    except _Unsettled:
        return _run_chunk(chunk, now, savepoints=True)


def _run_chunk(chunk, now, *, savepoints: bool) -> tuple[list, list, list]:
    attempt_of = dict(chunk)
    finished, alone, later = [], [], []
    stop_at = time.monotonic() + CHUNK_SECONDS
    # One transaction, one trip for its pushes, and the reads its actions repeat made once.
    with transaction.atomic(), one_trip(), memo.scope():
        rows = [
            row
            for row in AutomationExecution.objects.select_for_update(of=("self",))
            .select_related(*RELATED)
            .filter(pk__in=attempt_of, state=S.RUNNING)
            .order_by("pk")
            if row.attempts == attempt_of[row.pk]  # else another worker took it over
        ]
        _lock_incidents(rows)
        for index, row in enumerate(rows):
            if index and time.monotonic() > stop_at:
                later = [(r.pk, r.attempts) for r in rows[index:]]
                break
            if not savepoints:
                try:
                    outcome = actions.perform(row)
                except Exception as exc:
                    raise _Unsettled from exc
                settle(row, S.SUCCEEDED, None, outcome=outcome)
                finished.append(row)
                continue
            try:
                with transaction.atomic():
                    outcome = actions.perform(row)
            except Skip as exc:
                settle(row, S.SKIPPED, None, error=str(exc))
            except OperationalError:  # a deadlock or lost lock, not the action's fault: alone, below
                alone.append((row.pk, row.attempts))
                continue
            except Exception as exc:  # a refused change (closed incident, bad key): recorded, not retried
                settle(row, S.FAILED, None, error=message(exc))
            else:
                settle(row, S.SUCCEEDED, None, outcome=outcome)
            finished.append(row)
        done = now or timezone.now()  # the chunk's work is done; what is left is writing it down
        for row in finished:
            row.finished_at = done
        _write_finished(finished, done)
        _record_finished(finished)
    return finished, alone, later


# Actions that only add rows pointing at their incident (a task, a notice, a run): the incident must stay,
# not stay unchanged, so they hold it FOR KEY SHARE, as their rows' foreign keys would. Ingestion's
# locks (FOR NO KEY UPDATE) do not wait for that; with FOR UPDATE every repeat of a new incident's
# alert waited for the chunk that added its task, which runs at the general worker's lower priority.
POINTING_ACTIONS = frozenset({"create_task", "notify", "start_workflow"})
_LOCK_SQL = "SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR {mode}"


def _lock_incidents(rows) -> None:
    """The chunk's incidents, locked up front in id order (FOR UPDATE where an action changes it,
    FOR KEY SHARE where they only point at it). Up front: past its first ledger entry the chunk may
    hold the organization's chain, which anyone holding an incident's lock may wait for next, so an
    incident locked after it could close a cycle. In id order: whoever holds one incident and waits
    for another took them in the same order."""
    changing = {r.incident_id for r in rows if r.incident_id and r.action_type not in POINTING_ACTIONS}
    ids = sorted({r.incident_id for r in rows if r.incident_id is not None})
    table = Incident._meta.db_table
    with connection.cursor() as cursor:
        for changes, run in itertools.groupby(ids, key=lambda pk: pk in changing):
            mode = "UPDATE" if changes else "KEY SHARE"
            cursor.execute(_LOCK_SQL.format(table=table, mode=mode), [list(run)])


# The chunk's outcomes in one statement (a CASE per field and row, as bulk_update writes it, costs
# more to build than the actions it records).
_FINISH_SQL = """
UPDATE {table} AS e
SET state = v.state, finished_at = %s, next_attempt_at = NULL, last_error = v.last_error,
    outcome = v.outcome::jsonb
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS v(id, state, last_error, outcome)
WHERE e.id = v.id
"""


def _write_finished(rows, done) -> None:
    if not rows:
        return
    sql = _FINISH_SQL.format(table=AutomationExecution._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                done,
                [row.pk for row in rows],
                [str(row.state) for row in rows],
                [row.last_error for row in rows],
                [json.dumps(row.outcome) for row in rows],
            ],
        )


def _record_finished(rows) -> None:
    """The rows' ledger entries, appended together last in the transaction (each as its rule's
    system actor, as ``record_execution`` writes them)."""
    by_rule = defaultdict(list)
    for row in rows:
        by_rule[row.rule_id].append(row)
    for rule_rows in by_rule.values():
        rule = rule_rows[0].rule
        record_many(
            job=actions.actor_for(rule).job,
            entries=[(rule, f"automation.execution.{row.state}", entry_data(row)) for row in rule_rows],
        )
