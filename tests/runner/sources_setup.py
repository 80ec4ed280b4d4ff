"""The integrations and secrets the alert source tests use, and how their senders sign or authenticate."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

from tests.conftest import PROJECT_ROOT
from tests.runner.conftest import commit_all

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "sources"

SECRETS = {
    "TEST_GRAFANA_TOKEN": "grafana-bearer-token",
    "TEST_GRAFANA_PASSWORD": "grafana-basic-password",
    "TEST_PD_SECRET": "pagerduty-webhook-secret",
    "TEST_DD_TOKEN": "datadog-custom-header-token",
    "TEST_SENTRY_SECRET": "sentry-client-secret",
    "TEST_AZURE_TOKEN": "azure-token",
}

# Appended to the demo's .gitlab/integrations.yml.
INTEGRATIONS = """\
  - id: grafana
    kind: grafana
    token_env: TEST_GRAFANA_TOKEN
    component_label: team
  - id: grafana-basic
    kind: grafana
    auth: basic
    username: grafana
    token_env: TEST_GRAFANA_PASSWORD
  - id: pagerduty
    kind: pagerduty
    secret_env: TEST_PD_SECRET
    sync: {token_env: TEST_PD_API_TOKEN, from: oncall@example.com}
  - id: datadog
    kind: datadog
    token_env: TEST_DD_TOKEN
    component_label: name
  - id: sentry
    kind: sentry
    secret_env: TEST_SENTRY_SECRET
  - id: azure
    kind: generic
    token_env: TEST_AZURE_TOKEN
    mapping:
      title: data.essentials.alertRule
      description: data.essentials.description
      start_time: data.essentials.firedDateTime
      end_time: data.essentials.resolvedDateTime
      severity:
        path: data.essentials.severity
        values: {Sev0: critical, Sev1: high, Sev2: medium, Sev3: low, Sev4: low}
      hosts: data.essentials.configurationItems
      monitoring_tool: data.essentials.monitoringService
      fingerprint: data.essentials.alertId
      resolved: {path: data.essentials.monitorCondition, values: [Resolved]}
"""


def add_integrations(clone: Path) -> None:
    """The source integrations in the clone's config, committed and pushed as a person would."""
    path = clone / ".gitlab" / "integrations.yml"
    path.write_text(path.read_text() + INTEGRATIONS)
    commit_all(clone, "Take alerts from Grafana, PagerDuty, Datadog, Sentry and Azure")


def body(name: str) -> bytes:
    """A fixture's bytes, as the sender would post them."""
    return (FIXTURES / name).read_bytes()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def pagerduty_signed(payload: bytes, *secrets: str) -> dict[str, str]:
    """X-PagerDuty-Signature as PagerDuty sends it: one v1 signature per secret, comma-separated."""
    signatures = [hmac.new(s.encode(), payload, hashlib.sha256).hexdigest() for s in secrets]
    return {"X-PagerDuty-Signature": ",".join(f"v1={s}" for s in signatures)}


def sentry_signed(
    payload: bytes, resource: str, secret: str = SECRETS["TEST_SENTRY_SECRET"]
) -> dict[str, str]:
    """The headers of a Sentry internal integration's webhook."""
    return {
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": "1566248778",
        "Sentry-Hook-Signature": hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest(),
        "Request-ID": "0c7b8ab3-1f1e-4a53-8b6a-63f0c8f8f0a1",
    }
