"""The point-to-point view: what one report costs without the layers (kept in bench/ only, never in the app).

One plain Django view doing the same downstream calls as the full flow, directly: the bearer token checked,
the legacy customer database and Salesforce asked at the same time, the report inserted, the ServiceNow
incident created and its number stored, the Slack notice handed off to Redis for a worker. No layers, no call
trace, no circuit breakers, no work engine, no idempotency. Two ways (bench/perf.py's layering tax):

- in the site (`bench.p2p.site_settings`): Incident Hub's production settings, middleware and JSON logging,
  the token checked by the OAuth toolkit as the site configures it: what the layers are compared with;
- bare (`bench.p2p.settings`): no app, no middleware, the token looked up with one query: the floor.

Served by gunicorn with the production web configuration, e.g.

    DJANGO_SETTINGS_MODULE=bench.p2p.site_settings gunicorn bench.p2p.wsgi -c deploy/gunicorn.conf.py
"""
