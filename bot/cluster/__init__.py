"""Reading a cluster: which cluster a name means, the Kubernetes API, and what a check reads.

Cluster names lead to kubeconfig contexts, a directory of kubeconfigs, or the in-cluster service
account (`kube`); `collect` reads the fixed set of calls into a `checks.snapshot.Snapshot` (built by
`assemble`), `dump` loads a `kubectl cluster-info dump` into the same Snapshot, and `checking` runs
one check of one cluster for the terminal and for Slack alike. `rbac` is what Kubernetes RBAC sees
of each request the bot makes. `kube` is the only module that imports the `kubernetes` package.
"""
