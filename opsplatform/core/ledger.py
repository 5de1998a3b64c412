"""The kernel's port to the event ledger.

The kernel and accounts sit below ``audit`` in the layer order, so they cannot import it. The
recorder is named in settings (``LEDGER_RECORDER``, the composition root's choice) and resolved on
first use; every app above ``audit`` calls ``audit.services.record`` directly.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


@cache
def _recorder():
    return import_string(settings.LEDGER_RECORDER)


def record(**kwargs):
    return _recorder()(**kwargs)
