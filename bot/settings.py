"""The bot's configuration, from the environment (12-factor). Every problem is reported at start,
one line each, instead of failing later in front of a user.

| variable | meaning |
|---|---|
| `SLACK_BOT_TOKEN` | bot token `xoxb-…` (required) |
| `SLACK_SIGNING_SECRET` | verifies HTTP requests from Slack (required in HTTP mode) |
| `SLACK_APP_TOKEN` | app-level token `xapp-…`: when set, the bot connects in Socket Mode |
| `SLACK_API_URL` | base URL of every Web API call (default `https://slack.com/api/`; tests point it at a fake) |
| `CALICO_BOT_ALLOWED_CHANNELS` | comma-separated channel ids the bot answers in (empty: every channel) |
| `KUBECONFIG`, `CALICO_BOT_CLUSTERS_DIR` | cluster access, as for `calico-bot check` |
| `CALICO_BOT_SIMULATORS` | `1` lets `demo` / `sim:<scenario>` name built-in simulated clusters (default off in `serve`: a drill tool, not for a production channel) |
| `CALICO_BOT_API_TIMEOUT` | seconds per Kubernetes API call (default 20) |
| `PORT`, `HOST` | where the HTTP server listens (default 3000 on 0.0.0.0) |
| `REDIS_URL` | approvals, audit, history and locks live here; without it remediation buttons say so |
| `CALICO_BOT_READ_ONLY` | `1`: every approved action is a dry run that says what it would have done |
| `IBMCLOUD_API_KEY`, `IKS_API_URL`, `IAM_URL` | worker reboot/reload/replace and master refresh through the IKS API |
| `CALICO_BOT_VERIFY_SECONDS` | verification deadlines per action, e.g. `delete-pod=300,reboot-worker=1200` |
| `CALICO_BOT_MAX_NOT_READY_SHARE` | refuse worker actions while more than this share of other workers is NotReady (0.3) |
| `CALICO_BOT_APPROVER_USERS`, `CALICO_BOT_APPROVER_GROUPS`, `CALICO_BOT_SELF_APPROVAL`, `CALICO_BOT_APPROVAL_TTL_MINUTES` | who may approve (see bot.remediation.approvals) |
| `CALICO_BOT_REDIS_PREFIX`, `CALICO_BOT_WORKER_CONCURRENCY`, `CALICO_BOT_HEARTBEAT_SECONDS`, `CALICO_BOT_SWEEP_SECONDS`, `CALICO_BOT_SHUTDOWN_SECONDS`, `CALICO_BOT_RATE_LIMIT` | the job queue, the worker and the per-user rate limit (see bot.queue.config) |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.cluster.sources import ClusterAccess, ClusterSource
from bot.queue.config import QueueConfigError, QueueSettings
from bot.remediation.approvals import ApprovalPolicy, PolicyError
from bot.remediation.iks import IksConfigError, IksSettings
from checks.model import ActionKind

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    app_token: str = field(default="", repr=False)
    api_url: str = DEFAULT_SLACK_API_URL
    allowed_channels: tuple[str, ...] = ()
    access: ClusterAccess = field(default_factory=ClusterAccess)
    host: str = "0.0.0.0"  # noqa: S104 - a server in a pod listens on every interface
    port: int = 3000
    redis_url: str = field(default="", repr=False)
    read_only: bool = False
    policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    iks: IksSettings | None = field(default=None, repr=False)
    verify_deadlines: dict[ActionKind, float] = field(default_factory=dict)
    max_not_ready_share: float = 0.3
    queue: QueueSettings = field(default_factory=QueueSettings)

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def channel_allowed(self, channel: str) -> bool:
        return not self.allowed_channels or channel in self.allowed_channels


def _simulated_scenarios() -> tuple[ClusterSource, ...]:
    """The simulator's built-in scenarios as clusters (`demo`, `sim:<scenario>`), for drills."""
    from bot.sim.source import SIMULATED

    return (SIMULATED,)


def load_settings(env: Mapping[str, str]) -> Settings:
    problems: list[str] = []
    bot_token = env.get("SLACK_BOT_TOKEN", "").strip()
    secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if not bot_token:
        problems.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
    elif not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN does not look like a bot token (it should start with xoxb-)")
    if app_token and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN does not look like an app-level token (it should start with xapp-)")
    if not secret and not app_token:
        problems.append("SLACK_SIGNING_SECRET is not set (needed to verify requests in HTTP mode)")
    api_url = env.get("SLACK_API_URL", DEFAULT_SLACK_API_URL).strip() or DEFAULT_SLACK_API_URL
    if not re.match(r"^https?://[^/\s]+", api_url):
        problems.append(f"SLACK_API_URL {api_url!r} is not an http(s) URL")
    elif not api_url.endswith("/"):
        api_url += "/"
    channels = tuple(c.strip() for c in env.get("CALICO_BOT_ALLOWED_CHANNELS", "").split(",") if c.strip())
    bad = [c for c in channels if not CHANNEL_ID.match(c)]
    if bad:
        problems.append(
            f"CALICO_BOT_ALLOWED_CHANNELS has names that are not channel ids (C…): {', '.join(bad)}"
        )
    port_text = env.get("PORT", "3000")
    port = int(port_text) if port_text.isdigit() and 0 <= int(port_text) < 65536 else -1
    if port < 0:
        problems.append(f"PORT {port_text!r} is not a port number")
    timeout_text = env.get("CALICO_BOT_API_TIMEOUT", "20")
    try:
        timeout = float(timeout_text)
        if timeout <= 0:
            raise ValueError
    except ValueError:
        problems.append(f"CALICO_BOT_API_TIMEOUT {timeout_text!r} is not a positive number of seconds")
        timeout = 20.0
    simulators = env.get("CALICO_BOT_SIMULATORS", "0").strip().lower() in ("1", "true", "yes", "on")
    read_only = env.get("CALICO_BOT_READ_ONLY", "").strip().lower() in ("1", "true", "yes", "on")
    redis_url = env.get("REDIS_URL", "").strip()
    if redis_url and not re.match(r"^rediss?://", redis_url):
        problems.append("REDIS_URL is not a redis:// or rediss:// URL")
    try:
        policy = ApprovalPolicy.from_env(env)
    except PolicyError as exc:
        problems += exc.problems
        policy = ApprovalPolicy()
    iks = None
    if env.get("IBMCLOUD_API_KEY", "").strip():
        try:
            iks = IksSettings.from_env(env)
        except IksConfigError as exc:
            problems += list(exc.problems)
    deadlines: dict[ActionKind, float] = {}
    for item in (i.strip() for i in env.get("CALICO_BOT_VERIFY_SECONDS", "").split(",") if i.strip()):
        name, _, seconds = item.partition("=")
        try:
            deadlines[ActionKind(name.strip())] = float(seconds)
        except ValueError:
            problems.append(f"CALICO_BOT_VERIFY_SECONDS: {item!r} is not <action>=<seconds>")
    share_text = env.get("CALICO_BOT_MAX_NOT_READY_SHARE", "0.3")
    try:
        share = float(share_text)
        if not 0 <= share <= 1:
            raise ValueError
    except ValueError:
        problems.append(f"CALICO_BOT_MAX_NOT_READY_SHARE {share_text!r} is not a share between 0 and 1")
        share = 0.3
    try:
        queue = QueueSettings.from_env(env)
    except QueueConfigError as exc:
        problems += exc.problems
        queue = QueueSettings()
    if problems:
        raise ConfigError(problems)
    return Settings(
        bot_token=bot_token,
        signing_secret=secret,
        app_token=app_token,
        api_url=api_url,
        allowed_channels=channels,
        access=ClusterAccess(
            kubeconfig=None,
            clusters_dir=env.get("CALICO_BOT_CLUSTERS_DIR") or None,
            timeout=timeout,
            sources=_simulated_scenarios() if simulators else (),
        ),
        host=env.get("HOST", "0.0.0.0"),  # noqa: S104
        port=port,
        redis_url=redis_url,
        read_only=read_only,
        policy=policy,
        iks=iks,
        verify_deadlines=deadlines,
        max_not_ready_share=share,
        queue=queue,
    )
