"""Escalation: everything armada-network needs to take over, and the runbook's data to gather.

`gather` builds the runbook's "Logs and Data to Gather" bundle for one worker (with `describe`,
kubectl's `describe node` / `describe pod` format, rebuilt from the raw API objects); `handoff`
builds the hand-off itself (text, a prefilled GHE issue link, the PagerDuty event: pure, no I/O, no
presentation); `escalate` runs it for a cluster (fresh diagnosis, hand-off, optional page);
`pagerduty` is the PagerDuty Events API adapter, the only module that talks to PagerDuty.
"""
