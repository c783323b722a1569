"""Redaction cost stays linear on hostile input, and an unterminated key block stays bounded:
- long runs of word characters (2,000 and 200,000), of `=`, `:`, quotes, of repeated names
  (`password`, `token=`, `Authorization: `, `Cookie:`, `--password -`, `secretName=`, `-eyJ`, `://a:b`…)
  each finish far inside a generous bound (the quadratic pattern of the past took ~0.3 s at 2,000
  characters and would take about an hour at 200,000);
- the output has the expected shape: runs without a secret come back unchanged, runs of secrets
  come back redacted;
- an unterminated `BEGIN RSA PRIVATE KEY` followed by 1 MB of base64 (as lines, or as one line)
  takes a bounded block and the log after it survives.

The timing ratios (10x input, ~10x time) are measured by bench/redact.py, not asserted here.
"""

from __future__ import annotations

import time

import pytest

from bot.redact import KEY_BLOCK_MAX, PRIVATE_KEY_MARK, redact

PEM_BEGIN = "-----BEGIN RSA " + "PRIVATE KEY-----"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Far above what linear work on 200 KB costs even on a loaded CI machine (tens of ms here), far below
# what a quadratic pattern costs.
BOUND_SECONDS = 3.0


def timed(text: str) -> tuple[str, float]:
    start = time.perf_counter()
    out = redact(text)
    return out, time.perf_counter() - start


UNCHANGED = {
    "2k-word-run": "a" * 2_000,
    "200k-word-run": "a" * 200_000,
    "200k-word-run-with-password-inside": "a" * 100_000 + "password" + "a" * 100_000,
    "password-run": "password" * 25_000,
    "password-dot-run": "password." * 22_000,
    "equals-run": "=" * 200_000,
    "colon-run": ":" * 200_000,
    "double-quote-run": '"' * 200_000,
    "single-quote-run": "'" * 200_000,
    "dash-eyJ-run": "-eyJ" * 50_000,
    "spaced-letters": "a " * 100_000,
    "dash-password-run": "-password " * 20_000,
    "flag-then-flag-run": "--password -" * 20_000,
    "secretName-run": "secretName=" * 20_000,
    "scheme-run": "://a:b" * 30_000,
    "url-without-at": "https://a:" + "b" * 200_000,
    "ghp-run": ("gh" + "p_") * 50_000,
    "akia-run": ("AK" + "IA") * 50_000,
    "DB_PASS_-run": "DB_PASS_" * 25_000,
    "pwd-run": "pwd" * 66_000,
    "pem-header-run": PEM_BEGIN * 6_000,
}


@pytest.mark.parametrize("text", UNCHANGED.values(), ids=UNCHANGED.keys())
def test_runs_without_a_secret_come_back_unchanged_quickly(text: str) -> None:
    out, seconds = timed(text)
    if "PRIVATE KEY" in text:
        assert out == PRIVATE_KEY_MARK * 6_000  # each header alone, nothing after it taken
    else:
        assert out == text
    assert seconds < BOUND_SECONDS


REDACTED_RUNS = {
    "token-equals-run": "token=" * 33_000,
    "authorization-run": "Authorization: " * 13_000,
    "cookie-run": "cookie:" * 30_000,
    "bearer-run": "bearer " * 30_000 + "x1",
    "password-quote-run": 'password="' * 20_000,
    "1MB-token-value": "token=" + "x" * 1_000_000,
}


@pytest.mark.parametrize("text", REDACTED_RUNS.values(), ids=REDACTED_RUNS.keys())
def test_runs_of_secrets_come_back_redacted_quickly(text: str) -> None:
    out, seconds = timed(text)
    assert "[REDACTED]" in out
    assert len(out) <= len(text) * 2
    assert seconds < BOUND_SECONDS


def test_a_one_megabyte_token_value_is_gone_whole() -> None:
    out, _ = timed("token=" + "x" * 1_000_000 + "\nnext line")
    assert out == "token=[REDACTED]\nnext line"


def test_an_unterminated_key_before_a_megabyte_of_base64_lines_takes_a_bounded_block() -> None:
    lines = [B64] * 16_000  # 1 MB of base64, 64 characters a line
    text = f"log before\n{PEM_BEGIN}\n" + "\n".join(lines) + "\n2024-02-12 felix/health.go 336: ready=true\n"
    out, seconds = timed(text)
    assert out.startswith(f"log before\n{PRIVATE_KEY_MARK}\n")
    taken = len(text) - len(out) + len(PRIVATE_KEY_MARK)
    assert KEY_BLOCK_MAX <= taken <= KEY_BLOCK_MAX + 2 * len(B64) + len(PEM_BEGIN)
    assert out.endswith("\n2024-02-12 felix/health.go 336: ready=true\n")
    assert seconds < BOUND_SECONDS


def test_an_unterminated_key_before_one_megabyte_base64_line_takes_that_line_only() -> None:
    text = f"{PEM_BEGIN}\n" + B64 * 16_000 + "\n2024-02-12 felix/health.go 336: ready=true\nbird: ready\n"
    out, seconds = timed(text)
    assert out == f"{PRIVATE_KEY_MARK}\n2024-02-12 felix/health.go 336: ready=true\nbird: ready\n"
    assert seconds < BOUND_SECONDS


def test_an_unterminated_key_does_not_swallow_the_rest_of_the_log() -> None:
    tail = "".join(
        f"2024-02-12 14:42:{i % 60:02d} [INFO][68] felix/summary.go 100: loop {i}\n" for i in range(5_000)
    )
    text = f"{PEM_BEGIN}\n{B64}\n{B64[:20]}\n" + tail
    out, _ = timed(text)
    assert out == f"{PRIVATE_KEY_MARK}\n" + tail
