"""Everything calico-bot says in Slack, and how it says it.

`api` is the Slack Web API adapter (the only module in bot/ that imports `slack_sdk`); `blockkit`
is the one Block Kit toolkit (limits, escaping, safe clipping, mentions, the block builders);
`cards` draws a diagnosis (card, thread, progress, errors), `handoff` the escalation hand-off and
`approval_card` an approval request; `check_job`, `gather_job` and `escalate_job` are the Slack
side of each job (no job imports another); `failures` is what a job says when it cannot finish;
`requester` tells the person who asked, privately; `disclosure` keeps the bot's host (addresses,
paths) out of channels.
"""
