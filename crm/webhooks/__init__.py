"""Webhooks out on key events: subscriptions, a transactional outbox, signed deliveries.

- ``catalog``: the event types a subscription may ask for.
- ``outbox``: writes the deliveries of an event in the caller's transaction (INSERT … SELECT
  over the subscriptions that want it), so a rolled-back change sends nothing.
- ``domain_events``: turns the CRM's domain events (``crm.events``) into outbox rows.
- ``delivery``: claims due deliveries (row locks, ``SKIP LOCKED``), posts them signed, records
  the answer, retries with exponential backoff up to an attempt cap.
- ``signing``: the signature scheme, for senders and receivers alike.
- ``subscriptions``: the admin's use cases (create, change, disable, delete, rotate the secret,
  redeliver, send a test event), audited.
"""
