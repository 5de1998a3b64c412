"""On-call and notifications: the delivery worker. It sends outbox rows, retries with backoff,
dead-letters, and records every attempt.

One tick (``tick.run_delivery_tick``) repeats three short phases until nothing is due (or its time
budget is spent):

1. **Claim** (``claim``, one statement): due rows (``pending``/``failed`` with ``next_attempt_at``
   passed, or ``sending`` rows whose lease ran out because their worker died) are locked with
   ``FOR UPDATE SKIP LOCKED``, marked ``sending`` with a lease and a claim token, and committed. A
   concurrent tick skips them; nobody sends a row another worker holds.
2. **Send** (``send``, no transaction, no database): each row is handed to the sender of its medium
   (``notifications.senders``), which prepares one request; a thread pool makes the requests.
3. **Record the outcome** (``outcome``, one transaction): each row the claim token still owns
   becomes ``sent``, ``failed`` (with the next attempt time: exponential backoff with jitter) or
   ``dead``; the attempt is stored and written to the ledger on the incident, so it shows on the
   incident's timeline.

A claim that meets a database error may have committed all the same; the tick gives its rows back
by their claim token once the database answers (``claim.ClaimInDoubt``, ``tick._Tick.settle``).
A worker killed between 1 and 3 leaves its rows ``sending``; after the lease they are claimed again
and the lost attempt is recorded as "outcome unknown". The request may have arrived, so the retry
carries the same delivery id (``X-OpsPlatform-Delivery``, ``Idempotency-Key``,
``I-Twilio-Idempotency-Token``) for the receiver to recognize; no row is ever in flight twice at once.

``verification`` sends the code that proves a new contact method, through the same senders.
"""

from notifications.delivery.batch import DeliveryStats
from notifications.delivery.outcome import backoff
from notifications.delivery.tick import run_delivery_tick

__all__ = ["DeliveryStats", "backoff", "run_delivery_tick"]
