"""Running one callable in several threads at the same moment, for tests of what two workers (or
ticks) do when they meet."""

import threading

from django.db import connection


def at_once(work, threads: int = 2) -> tuple[list, list[str]]:
    """``work()`` in ``threads`` threads released together: (what each returned, the errors raised,
    as ``repr``). Each thread closes its database connection when done."""
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:  # the caller asserts there are none
            errors.append(repr(exc))
        finally:
            connection.close()

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return results, errors
