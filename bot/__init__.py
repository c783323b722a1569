"""calico-bot: the application and every adapter, in rooms by capability.

    bot/cluster/      cluster names and access, the Kubernetes adapter and the one reader, collect,
                      dump loading, snapshot assembly, one check of one cluster, progress
    bot/slack/        the Web API adapter, the Block Kit toolkit, the cards, the Slack side of jobs
    bot/remediation/  the actions (Kubernetes and IKS), the approval policy, the approval flow
    bot/escalation/   gather bundles, kubectl-format describe, the hand-off, PagerDuty
    bot/store/        Redis: approval and audit records, execution owners, locks, shared state
                      (de-duplication, rate limits, single flight; in memory without REDIS_URL)
    bot/queue/        the job queue: job descriptions, saq on Redis, in-process without REDIS_URL
    bot/worker/       what runs jobs: the wiring shared with serve, the sweeps, `calico-bot worker`
    bot/observability/  the correlation id, the measurements and /metrics, JSON logs, /readyz
    bot/sim/          the simulated cluster, and the source that offers it as `demo` / `sim:<name>`
    bot/cli.py        `calico-bot`: check, gather, escalate, serve, worker, sim
    bot/serve.py      `calico-bot serve`: wires the Slack app (the only importer of handlers/)
    bot/settings.py   configuration from the environment
    bot/report.py     the terminal report
    bot/redact.py     redaction of every log, bundle and audit text
    bot/clock.py      the one place that reads the wall clock

`checks/` (pure diagnosis) sits below all of it, `handlers/` (the thin Slack listeners) above the
Slack side; tests/test_layering.py keeps the directions.
"""
