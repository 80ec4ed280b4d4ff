"""Fixtures for subscriber tests: the runner's clone set up to tell subscribers through local receivers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.runner.conftest import commit_all
from tidings.content.model import SiteFile, SubscriberMail, SubscribersSettings
from tidings.runner.subscribers.settings import Settings

TIDINGS = str(Path(sys.executable).parent / "tidings")
LAG = "2026-11-24-postgres-replica-lag"  # an unpublished demo incident on postgres
STORAGE = "2026-12-06-object-storage-migration"  # a published demo maintenance on storage
SENDER = "Lumen Cloud Status <status@example.com>"
FAST_RETRY = "{attempts: 3, backoff_seconds: 0.05, timeout_seconds: 5}"


def notifications(smtp_port: int, release: str = "pushed", extra: str = "") -> str:
    return (
        "subscribers:\n"
        f"  email: {{host: 127.0.0.1, port: {smtp_port}, security: none, from: '{SENDER}'}}\n"
        f"  release: {release}\n"
        "  allow_private_webhooks: true\n"
        "  suspend_after: 2\n"
        f"  retry: {FAST_RETRY}\n" + extra
    )


def set_endpoint(clone: Path, endpoint: str) -> None:
    site = clone / ".gitlab" / "status-page.yml"
    text = site.read_text(encoding="utf-8")
    site.write_text(text.replace("https://subscribe.status.example.com/", endpoint), encoding="utf-8")


def subscribing(clone: Path, smtp_port: int, release: str = "pushed", endpoint: str | None = None) -> None:
    """The clone's settings pointed at a local SMTP server (webhooks at 127.0.0.1 allowed), pushed."""
    (clone / ".gitlab" / "notifications.yml").write_text(notifications(smtp_port, release), encoding="utf-8")
    if endpoint:
        set_endpoint(clone, endpoint)
    commit_all(clone, "Tell subscribers through the test receivers")


def tidings(clone: Path, *args: str) -> str:
    """A person's `tidings` command in the clone."""
    run = subprocess.run([TIDINGS, *args, str(clone)], cwd=clone, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout


def settings(smtp_port: int, **rules: object) -> Settings:
    """Settings made directly, for tests of the sender without a clone."""
    site = SiteFile.model_validate(
        {
            "title": "Lumen Cloud Status",
            "base_url": "https://status.example.com/",
            "timezone": "Europe/Berlin",
            "services": [{"name": "REST API", "id": "api"}, {"name": "Postgres", "id": "postgres"}],
            "subscribe": {"endpoint": "https://subscribe.example.com/"},
        }
    )
    mail = SubscriberMail.model_validate(
        {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from": SENDER, "connections": 2}
    )
    given = {"email": mail, "allow_private_webhooks": True, "suspend_after": 2,
             "retry": {"attempts": 3, "backoff_seconds": 0.0, "timeout_seconds": 5}, **rules}  # fmt: skip
    return Settings(
        site, SubscribersSettings.model_validate(given), {"api": "REST API", "postgres": "Postgres"}
    )


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"
