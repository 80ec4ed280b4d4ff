"""Two-way sync: telling PagerDuty that a person acknowledged or resolved an alert in Tidings.

`tell_pagerduty` sets a PagerDuty incident's status through PagerDuty's REST API
(`PUT {api_url}/incidents/{id}` with `{"incident": {"type": "incident_reference", "status": ...}}`,
`Authorization: Token token=<token>`, and `From:` the PagerDuty user it is done as), delivered like
a page (runner/escalation/notifiers.py): tried `retry.attempts` times with a doubling backoff, a 4xx
answer or a missing token failing at once, and the outcome (`Attempted`) returned to be recorded.

PagerDuty answers such a change with its own webhook (`incident.acknowledged`, ...), which arrives
here as the alert's triage: it states what Tidings already holds, so it changes nothing and
nothing echoes back and forth.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from tidings.content.model import PagerDutySync, RetrySettings
from tidings.runner.escalation.notifiers import RETRYABLE_STATUS, USER_AGENT, Attempted, DeliveryError
from tidings.runner.outbound import Network, Refused, open_url

log = logging.getLogger(__name__)
Status = Literal["acknowledged", "resolved"]
ACCEPT = "application/vnd.pagerduty+json;version=2"


def incident_update(incident_id: str, status: Status) -> bytes:
    """The body of PagerDuty's "update an incident" request that sets `status`."""
    return json.dumps({"incident": {"type": "incident_reference", "status": status}}).encode()


def put_once(
    sync: PagerDutySync,
    incident_id: str,
    status: Status,
    timeout: float,
    env: Mapping[str, str],
    allowed: Sequence[Network] = (),
) -> None:
    """One try; raises DeliveryError (`permanent` when trying again cannot help)."""
    token = env.get(sync.token_env, "")
    if not token:
        raise DeliveryError(f"the variable {sync.token_env} is not set", permanent=True)
    url = f"{sync.api_url.rstrip('/')}/incidents/{urllib.parse.quote(incident_id, safe='')}"
    request = urllib.request.Request(
        url,
        data=incident_update(incident_id, status),
        method="PUT",
        headers={
            "User-Agent": USER_AGENT,
            "Accept": ACCEPT,
            "Content-Type": "application/json",
            "Authorization": f"Token token={token}",
            "From": sync.from_,
        },
    )
    try:
        open_url(request, timeout, allowed)
    except Refused as exc:
        raise DeliveryError(str(exc), permanent=True) from None
    except urllib.error.HTTPError as exc:
        # The status only: the answer may quote the request, and the request holds the token.
        raise DeliveryError(
            f"HTTP {exc.code} {exc.reason}", permanent=exc.code not in RETRYABLE_STATUS
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DeliveryError(f"could not reach PagerDuty: {reason}") from None


def tell_pagerduty(
    sync: PagerDutySync,
    incident_id: str,
    status: Status,
    retry: RetrySettings,
    sleep: Callable[[float], None],
    env: Mapping[str, str] | None = None,
    allowed: Sequence[Network] = (),
) -> Attempted:
    """Set PagerDuty incident `incident_id` (an alert's fingerprint) to `status`, retrying as a page is."""
    env = os.environ if env is None else env
    delay = retry.backoff_seconds
    error = ""
    for attempt in range(1, retry.attempts + 1):
        try:
            put_once(sync, incident_id, status, retry.timeout_seconds, env, allowed)
            log.info("told PagerDuty incident %s is %s (try %d)", incident_id, status, attempt)
            return Attempted("sent", attempt)
        except DeliveryError as exc:
            error, permanent = str(exc), exc.permanent
        log.warning(
            "telling PagerDuty incident %s is %s, try %d of %d: %s",
            incident_id, status, attempt, retry.attempts, error,
        )  # fmt: skip
        if permanent or attempt == retry.attempts:
            return Attempted("failed", attempt, error)
        sleep(delay)
        delay *= 2
    return Attempted("failed", retry.attempts, error)
