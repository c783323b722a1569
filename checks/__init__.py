"""Pure diagnosis: the snapshot model, one module per runbook situation, and `diagnose`.

Nothing in this package does I/O or imports a network library; it is a function of the snapshot
and the time (tests/test_layering.py keeps it so).
"""
