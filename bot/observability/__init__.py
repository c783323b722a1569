"""Observability: what the running bot tells its operators, and nothing secret.

    correlation.py  the correlation id of the request in flight (Slack trigger/event id -> job id ->
                    approval id), a contextvar the handlers, the queue and the approval flow set
    measure.py      the named measurements the code records (acks, jobs, checks, situations,
                    approvals, API errors); cheap no-ops until a process installs the Prometheus sink
    metrics.py      the Prometheus instruments behind `measure` and the `/metrics` exposition (the
                    only importer of prometheus_client)
    logs.py         one JSON object per log line, with the correlation id and no secret value (the
                    only importer of structlog)
    readiness.py    `/readyz`: named probes (Redis, the queue) run together, each with a deadline
    endpoints.py    `/healthz`, `/readyz` and `/metrics` on an aiohttp application, the ack timer for
                    `/slack/events`, and a small probe server for processes without one (the worker)

Nothing here imports the rest of the bot but `bot.redact`: every room may record a measurement or
read the correlation id without pulling in a Prometheus or structlog import (the CLI never pays for
them).
"""
