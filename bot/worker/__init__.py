"""The worker side: what runs queued jobs, in a `calico-bot worker` process or inside the embedded
`serve`.

`wiring` builds a process's job dependencies from its settings (Slack client, store, shared state,
remediation) and registers every job kind on the queue — the same for `serve` and `worker`;
`sweeps` are the periodic duties of a worker (expired requests, executions whose worker died);
`process` is `calico-bot worker`: consume the Redis queue until SIGTERM, then hand back what could
not finish.
"""
