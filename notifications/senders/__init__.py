"""Delivery senders: each turns one prepared notification into one request and reports the outcome.

Preparation (reading rows, opening secrets, rendering the message) happens in the worker's main
thread; sending happens in a thread pool and touches no database. See ``notifications.delivery``.
"""

from notifications.senders.base import Outgoing, SendResult, send

__all__ = ["Outgoing", "SendResult", "send"]
