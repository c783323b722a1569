"""The per-user rate limit (`CALICO_BOT_RATE_LIMIT`): past it a request starts nothing and the
requester is told, ephemerally, how long to wait; other users are not affected."""

from __future__ import annotations

from tests.slack.inproc import InProcessBot
from tests.slack.signing import slash_command_body


def test_past_the_limit_nothing_starts_and_the_user_is_told() -> None:
    with InProcessBot(allowed="C1", env={"CALICO_BOT_RATE_LIMIT": "2/60"}) as bot:
        for n in range(3):
            body = slash_command_body(
                "check no-such-cluster",
                user_id="U1",
                trigger_id=f"rl-{n}",
                response_url=bot.fake.response_url(f"r{n}"),
            )
            assert bot.post_form(body)[0] == 200
        other = slash_command_body(
            "check no-such-cluster",
            user_id="U2",
            trigger_id="rl-other",
            response_url=bot.fake.response_url("o"),
        )
        assert bot.post_form(other)[0] == 200
        bot.run(bot.fake.wait_for_responses("r2", timeout=10))
        bot.settle()
        assert bot.queue.ids == ["check:rl-0", "check:rl-1", "check:rl-other"]
        [told] = bot.response_texts("r2")
        assert "You have started 2 requests in the last 60 s" in told
        assert "nothing was started" in told
        assert "Try again in" in told
