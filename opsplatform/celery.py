import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsplatform.settings")

app = Celery("opsplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _return_connections(sender=None, **kwargs) -> None:
    """Around each task, what Django does around each request: a connection that broke (the
    database restarted) or outlived ``CONN_MAX_AGE`` is closed; with a pool, closing returns it to
    the pool (see ``CELERY_DB_REUSE_MAX`` in settings, which keeps the pool itself open)."""
    from django.db import close_old_connections

    # A task run in place (eager) runs inside its caller's request or transaction, as Celery's own
    # close does not touch it either.
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()
