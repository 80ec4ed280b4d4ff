"""`.gitlab/notifications.yml` is validated like every other file: all problems, with a did-you-mean."""

from __future__ import annotations

from tidings.content.load import load

PLANTED = """\
runner_url: https://runner.example.com/
channels:
  - {id: a, kind: slak, url_env: SLACK_URL}
  - {id: b, kind: webhook, url: "https://hooks.example.com/", url_env: HOOK_URL, secret_env: HOOK_SECRET}
  - {id: b, kind: email, host: smtp.example.com, from: oncall@example.com, prot: 25}
  - {id: d, kind: slack, url_env: https://hooks.slack.com/services/T0/B0/SECRET}
retry: {attempts: 0}
"""


def test_every_problem_in_the_notifications_file_is_reported(make_repo):
    root = make_repo({".gitlab/notifications.yml": PLANTED})
    found = [d.as_text() for d in load(root).diagnostics if d.path == ".gitlab/notifications.yml"]
    assert found == [
        ".gitlab/notifications.yml:3:19: error: channels[0].kind: 'slak' is not one of: slack, webhook, "
        "email (did you mean 'slack'?) [bad-value]",
        ".gitlab/notifications.yml:4:5: error: channels[1]: a webhook has exactly one of 'url' or "
        "'url_env' [invalid]",
        ".gitlab/notifications.yml:5:10: error: channels[2].id: duplicate channel id 'b' (also channels[1]) "
        "[duplicate-id]",
        ".gitlab/notifications.yml:5:76: error: channels[2].prot: unknown key 'prot' (did you mean 'port'?) "
        "[unknown-key]",
        # A secret pasted where its variable's name belongs is refused.
        ".gitlab/notifications.yml:6:35: error: channels[3].url_env: String should match pattern "
        "'^[A-Z_][A-Z0-9_]*$' [invalid]",
        ".gitlab/notifications.yml:7:19: error: retry.attempts: Input should be greater than or equal to 1 "
        "[invalid]",
    ]


def test_a_valid_file_is_in_the_model(make_repo):
    root = make_repo(
        {
            ".gitlab/notifications.yml": """\
            channels:
              - {id: mail, kind: email, host: smtp.example.com, from: "On-call <oncall@example.com>"}
            """
        }
    )
    result = load(root)
    assert result.errors == []
    (channel,) = result.repo.notifications.channels
    assert (channel.kind, channel.port, channel.security, channel.from_) == (
        "email",
        587,
        "starttls",
        "On-call <oncall@example.com>",
    )
    assert result.repo.notifications.ack_expires_minutes == 1440
