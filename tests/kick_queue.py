"""A broker list of the test's own for the tasks that kicks send (``opsplatform.core.kicks``)."""

import contextlib
import json
import uuid

from opsplatform.celery import app
from opsplatform.core import kicks


@contextlib.contextmanager
def private_queue(monkeypatch, *reset: kicks.Kick):
    """Kicks send to a queue private to the test; yields a function listing the names of the tasks
    waiting there. The marks of ``reset`` are cleared before and after, so no other test's kick (nor
    this one's) is taken for one waiting."""
    name = f"test-kicks-{uuid.uuid4().hex}"

    class PrivateQueue:
        """The real app, sending to this test's queue (Celery builds its router once per process,
        so routes set now would not be read)."""

        def send_task(self, task, **options):
            return app.send_task(task, queue=name, **options)

    monkeypatch.setattr(kicks, "current_app", PrivateQueue())
    for kick in reset:
        kick.started()
        kick.forget()
    try:
        with app.connection_for_write() as connection:
            # The broker's own Redis client (it speaks whatever address form the broker URL uses).
            broker = connection.default_channel.client
            try:
                yield lambda: [json.loads(raw)["headers"]["task"] for raw in broker.lrange(name, 0, -1)]
            finally:
                broker.delete(name)
    finally:
        for kick in reset:
            kick.started()
