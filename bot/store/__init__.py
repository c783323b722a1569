"""State that outlives a process, in Redis: approval requests (atomic transitions), the audit streams,
per-cluster action locks, event de-duplication and the Slack user-group cache.

`records` holds the records themselves — plain data, no Redis and no presentation — and
`redis_store.Store` is the adapter, the only module besides `bot.queue` that imports `redis`.
"""
