"""Idempotent intake: a retried report is answered as the first one was, and reported once.

`services` keeps the records (claim a key, store the answer, replay it, forget it after the TTL);
`rest` applies the `Idempotency-Key` request header to REST views; `form_tokens` gives the browser
form a server-issued token with the same effect.
"""
