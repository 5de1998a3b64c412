"""Browser push (Web Push): the deployment's VAPID identity, subscriptions, and the message a page
becomes. The request itself is made by ``notifications.senders.web_push`` through the outbox."""
