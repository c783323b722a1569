"""Reading a cluster: which cluster a name means, the Kubernetes API, and what a check reads.

`sources` resolves a name (the real clusters first — kubeconfig contexts, a directory of
kubeconfigs, in-cluster — then whatever the edge plugged in, such as the simulator); `kube` is the
Kubernetes adapter (the only importer of the `kubernetes` package: kubeconfigs, the raw HTTP call,
one thread pool per process); `reader` is the one way to call the API (the configured timeout,
`errors` as exception types, msgspec objects out), used by collection, gather and the actions;
`collect` reads the fixed set of calls into a `checks.snapshot.Snapshot` (built by `assemble`),
`dump` loads a `kubectl cluster-info dump` into the same Snapshot, `progress` tells how far a
collection got, and `checking` runs one check of one cluster for the terminal and for Slack alike.
`rbac` is what Kubernetes RBAC sees of each request the bot makes.
"""
