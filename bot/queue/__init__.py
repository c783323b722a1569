"""The job queue: work that must not run on Slack's 3-second request path.

`jobs.JobQueue` is the interface every queue implements; `jobs.InProcessQueue` runs jobs as
asyncio tasks in this process (the embedded default, no `REDIS_URL`). A Redis-backed queue for
several replicas and a worker Deployment belongs here too, behind the same protocol.
"""
