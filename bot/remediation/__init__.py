"""Remediation: the runbook's steps as actions that run only after an authorised person approves.

`actions` plans, applies and verifies the Kubernetes steps (cordon, uncordon, delete-pod,
copy-bgp-secret); `workers` the worker and master steps through the IKS API (`iks`, the only
module that talks to IKS and IAM); `approvals` decides who may approve what (the two-person rule,
approver groups, expiry); `flow` runs request → approval card → decision → run once → verify
from Slack, with the records and locks in `bot.store`.
"""
