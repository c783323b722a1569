"""Reading container logs: levels in every format Calico's components write, the last error lines,
the last words before a crash, line dates, and the catalog's first-match and cleared-by rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from checks.catalog import BY_ID, SIGNATURES, Scope
from checks.logscan import error_lines, last_words, level_of, line_time, scan


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("2024-02-12 14:42:49.280 [ERROR][37] felix/int_dataplane.go 1234: Failed to apply", "error"),
        ("2024-02-12 14:42:49.280 [FATAL][1] main.go 129: Failed to initialize Calico datastore", "fatal"),
        (
            "2024-02-12 14:42:49.280 [WARNING][8] startup/startup.go 863: Calico node 'x' is already using",
            "warning",
        ),
        ("2024-02-12 14:42:49.280 [INFO][8] startup/startup.go 94: Starting node", "info"),
        ('time="2021-01-01T00:00:00Z" level=error msg="Unable to create token"', "error"),
        ("E0610 00:16:46.957705      69 reflector.go:138] Failed to watch *v1.Secret", "error"),
        ("W0610 00:16:46.957663      69 reflector.go:324] failed to list", "warning"),
        ('{"level":"error","ts":1650867716.59,"logger":"controller","msg":"Reconciler error"}', "error"),
        ('{"level":"info","ts":1650867716.59,"msg":"Status manager is not ready"}', "info"),
        ("Calico node failed to start", "error"),
        ("bird: Unable to open configuration file /etc/calico/confd/config/bird.cfg", "error"),
        ("bird: Mesh_10_0_0_2: State changed to up", ""),
    ],
)
def test_level_of_every_format(line: str, level: str) -> None:
    assert level_of(line) == level


def test_error_lines_give_the_first_error_and_the_worst_last_in_log_order() -> None:
    text = "\n".join(
        [
            "2024-01-01 00:00:01.000 [WARNING][1] a.go 1: first warning",
            "2024-01-01 00:00:02.000 [ERROR][1] a.go 2: the error",
            "2024-01-01 00:00:03.000 [INFO][1] a.go 3: noise",
            "2024-01-01 00:00:04.000 [FATAL][1] a.go 4: the fatal",
            "2024-01-01 00:00:05.000 [ERROR][1] a.go 2: the error",  # the same line again
        ]
    )
    assert error_lines(text, limit=2) == [
        "2024-01-01 00:00:02.000 [ERROR][1] a.go 2: the error",  # its first occurrence: the root cause
        "2024-01-01 00:00:04.000 [FATAL][1] a.go 4: the fatal",  # what it died of
    ]
    assert error_lines(text, limit=3) == [
        "2024-01-01 00:00:01.000 [WARNING][1] a.go 1: first warning",
        "2024-01-01 00:00:02.000 [ERROR][1] a.go 2: the error",
        "2024-01-01 00:00:04.000 [FATAL][1] a.go 4: the fatal",
    ]
    assert error_lines("2024-01-01 00:00:03.000 [INFO][1] a.go 3: noise") == []


def test_last_words_skip_a_go_stack_trace() -> None:
    text = (
        "2019-03-28 22:41:02.999 [INFO][1] migrate.go 79: IPIP tunnel address not found, assigning...\n"
        "panic: runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x11966d8]\n"
        "\n"
        "goroutine 1 [running]:\n"
        "github.com/projectcalico/cni-plugin/pkg/upgrade.Migrate(0x1654b40, 0xc000040018)\n"
        "\t/go/src/github.com/projectcalico/cni-plugin/pkg/upgrade/migrate.go:130 +0x5d8\n"
        "main.main()\n"
        "\t/go/src/github.com/projectcalico/cni-plugin/cmd/calico-ipam/calico-ipam.go:25 +0x39\n"
    )
    assert last_words(text) == [
        "2019-03-28 22:41:02.999 [INFO][1] migrate.go 79: IPIP tunnel address not found, assigning...",
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x11966d8]",
    ]


@pytest.mark.parametrize(
    ("line", "when"),
    [
        (
            "2024-02-12 14:42:49.280 [INFO][5037] confd/health.go 180: x",
            datetime(2024, 2, 12, 14, 42, 49, tzinfo=UTC),
        ),
        ('time="2021-06-01T10:00:00Z" level=error msg="x"', datetime(2021, 6, 1, 10, 0, 0, tzinfo=UTC)),
        ('{"level":"info","ts":1650867716.590535,"msg":"x"}', datetime(2022, 4, 25, 6, 21, 56, tzinfo=UTC)),
        ("bird: Unable to open configuration file", None),
    ],
)
def test_line_time(line: str, when: datetime | None) -> None:
    assert line_time(line) == when


def test_a_line_takes_the_most_specific_signature_only() -> None:
    line = (
        'secrets "bgp-password" is forbidden: User "system:serviceaccount:calico-system:calico-node" cannot list '
        'resource "secrets" in API group "" in the namespace "calico-system"'
    )
    hits = scan(line)
    assert [h.signature for h in hits] == ["rbac-forbidden-secret"]
    assert BY_ID[hits[0].signature].scope == Scope.BGP_SECRET


def test_a_reconnect_clears_a_typha_failure_but_not_the_reverse() -> None:
    failed = (
        "2024-01-01 00:00:01.000 [WARNING][1] sync_client.go 1: Failed to connect to typha endpoint 10.0.0.2:5473.  "
        "Will try another if available..."
    )
    ok = "2024-01-01 00:00:02.000 [INFO][1] sync_client.go 2: Successfully connected to Typha at 10.0.0.3:5473 after 1s."
    assert [h.cleared for h in scan(f"{failed}\n{ok}")] == [True]
    assert [h.cleared for h in scan(f"{ok}\n{failed}")] == [False]


def test_every_signature_has_a_meaning_and_unique_id() -> None:
    assert len(BY_ID) == len(SIGNATURES)
    for sig in SIGNATURES:
        assert sig.meaning
        assert sig.pattern.pattern
