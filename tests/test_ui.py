"""The dashboard (skill.ui) through the Flask test client: off by default, login, rate limit, CSRF, CSP, pages."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skill.pushover import Message
from skill.ui.guard import CONTENT_SECURITY_POLICY, MAX_FAILURES, CsrfTokens, LoginLimiter, password_matches
from skill.web import skill_of
from tests.fake_pushover import FakePushover
from tests.web_apps import app_maker

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MAP = str(ROOT / "intents.yaml")
PASSWORD = "correct horse battery staple"
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def basic(password: str = PASSWORD, user: str = "anyone") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def make_ui(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    with app_maker(tmp_path, intent_map_path=EXAMPLE_MAP) as make:
        yield lambda environ=None, fake=None: make(fake=fake, environ=environ or {})


@pytest.fixture
def ui(make_ui) -> FlaskClient:
    return make_ui({"UI_PASSWORD": PASSWORD}).test_client()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def test_off_without_a_password(make_ui) -> None:
    client = make_ui().test_client()
    for path in ("/ui", "/ui/", "/ui/requests", "/ui/static/ui.css"):
        assert client.get(path, headers=basic()).status_code == 404


def test_every_page_needs_the_password_and_any_user_name_works(ui: FlaskClient) -> None:
    paths = ("/ui/", "/ui/requests", "/ui/outbox", "/ui/intents", "/ui/try", "/ui/ids", "/ui/static/ui.css")
    for n, path in enumerate(paths):
        response = ui.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
        wrong = ui.get(path, headers=basic("wrong"), environ_base={"REMOTE_ADDR": f"127.0.1.{n}"})
        assert wrong.status_code == 401
    for user in ("admin", "", "paulus"):
        assert ui.get("/ui/", headers=basic(user=user)).status_code == 200


def test_failed_logins_are_rate_limited_per_address(ui: FlaskClient) -> None:
    for _ in range(MAX_FAILURES):
        assert ui.get("/ui/", headers=basic("guess")).status_code == 401
    limited = ui.get("/ui/", headers=basic())  # even the right password waits now
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    other = ui.get("/ui/", headers=basic(), environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert other.status_code == 200


def test_limiter_window_passes_and_success_clears() -> None:
    now = [1000.0]
    limiter = LoginLimiter(max_failures=2, window_s=60, clock=lambda: now[0])
    limiter.failed("a")
    assert limiter.retry_after_s("a") == 0
    limiter.failed("a")
    assert limiter.retry_after_s("a") > 0
    now[0] += 61
    assert limiter.retry_after_s("a") == 0
    limiter.failed("b")
    limiter.succeeded("b")
    limiter.failed("b")
    assert limiter.retry_after_s("b") == 0


def test_password_and_csrf_checks() -> None:
    assert password_matches(PASSWORD, PASSWORD)
    assert not password_matches(PASSWORD + "x", PASSWORD) and not password_matches(None, PASSWORD)
    tokens = CsrfTokens(PASSWORD)
    assert tokens.valid(tokens.token) and not tokens.valid("0" * 64) and not tokens.valid(None)
    assert CsrfTokens(PASSWORD).token != tokens.token  # per process: a token from another run is stale


def test_pages_send_a_strict_content_security_policy(ui: FlaskClient) -> None:
    for path in ("/ui/", "/ui/requests", "/ui/outbox", "/ui/intents", "/ui/try", "/ui/ids"):
        response = ui.get(path, headers=basic())
        assert response.status_code == 200, path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
        html = response.get_data(as_text=True)
        assert "<script" not in html  # no script at all, inline or not
        assert not re.search(r"<(link|img|iframe)[^>]+(src|href)=\"(https?:)?//", html)  # no CDN
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_status_shows_what_healthz_shows(ui: FlaskClient) -> None:
    html = ui.get("/ui/", headers=basic()).get_data(as_text=True)
    health = ui.get("/healthz").get_json()
    assert health["intent_map"]["path"] in html
    assert 'dry run: <b class="warn">on' in html and 'verification: <b class="bad">OFF' in html
    assert f"{health['intents']} intents" in html and "generation 1" in html


def test_post_without_a_valid_csrf_token_is_refused(ui: FlaskClient) -> None:
    for data in ({"intent": "LocateIntent"}, {"intent": "LocateIntent", "csrf": "0" * 64}):
        assert ui.post("/ui/try", data=data, headers=basic()).status_code == 400
    assert ui.post("/ui/try", data={"intent": "LocateIntent"}).status_code == 401  # login first, then CSRF


def test_try_it_runs_dry_and_shows_notification_and_speech_escaped(ui: FlaskClient) -> None:
    form = ui.get("/ui/try?intent=LocateIntent", headers=basic()).get_data(as_text=True)
    assert 'name="slot_User"' in form
    response = ui.post(
        "/ui/try",
        data={"csrf": csrf_of(form), "intent": "LocateIntent", "slot_User": HOSTILE, "locale": "en-US"},
        headers=basic(),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Dry run: nothing was sent" in html
    assert "The location of &lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html  # the notification's message
    assert "<img" not in html and "<script>alert" not in html
    requests_html = ui.get("/ui/requests", headers=basic()).get_data(as_text=True)
    assert "try it (dry run)" in requests_html and "LocateIntent" in requests_html
    assert "alert(1)" not in requests_html  # slot values hidden without UI_SHOW_SLOTS=1


def test_try_it_does_not_list_its_made_up_echo_as_unknown(make_ui, fake_pushover: FakePushover) -> None:
    client = make_ui({"UI_PASSWORD": PASSWORD}, fake_pushover).test_client()  # a send runs on the live service
    token = csrf_of(client.get("/ui/try?intent=LocateIntent", headers=basic()).get_data(as_text=True))
    client.post(
        "/ui/try", data={"csrf": token, "intent": "LocateIntent", "slot_User": "Paulus", "send": "1"}, headers=basic()
    )
    assert len(fake_pushover.requests_to("messages")) == 1  # it did run
    assert client.get("/healthz").get_json()["people"]["unknown_device_ids"] == {"requests": 0, "ids": {}, "more": 0}
    assert "SIMULATED" not in client.get("/ui/ids", headers=basic()).get_data(as_text=True)


def test_try_it_sends_only_when_asked(make_ui, fake_pushover: FakePushover) -> None:
    client = make_ui({"UI_PASSWORD": PASSWORD, "UI_SHOW_SLOTS": "1"}, fake_pushover).test_client()
    token = csrf_of(client.get("/ui/try?intent=LocateIntent", headers=basic()).get_data(as_text=True))
    base = {"csrf": token, "intent": "LocateIntent", "slot_User": "Paulus"}
    client.post("/ui/try", data=base, headers=basic())
    assert fake_pushover.requests_to("messages") == []
    html = client.post("/ui/try", data={**base, "send": "1"}, headers=basic()).get_data(as_text=True)
    (sent,) = fake_pushover.requests_to("messages")
    assert sent.form["message"] == "The location of Paulus has been queried via Alexa."
    assert "<h2>Sent</h2>" in html
    requests_html = client.get("/ui/requests", headers=basic()).get_data(as_text=True)
    assert "try it (sent)" in requests_html and "User=Paulus" in requests_html


def test_unknown_intent_in_try_it_is_404(ui: FlaskClient) -> None:
    assert ui.get("/ui/try?intent=NoSuchIntent", headers=basic()).status_code == 404


def test_alexa_requests_appear_in_recent_requests(ui: FlaskClient) -> None:
    body = (ROOT / "tests" / "fixtures" / "locate_intent.json").read_bytes()
    assert ui.post("/alexa", data=body, headers={"Content-Type": "application/json"}).status_code == 200
    assert ui.post("/alexa", data=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    html = ui.get("/ui/requests", headers=basic()).get_data(as_text=True)
    rows = re.findall(r"<tr><td>.*?</tr>", html, re.S)
    assert len(rows) == 2
    assert "refused: " in rows[0] and ">400<" in rows[0]
    assert "IntentRequest" in rows[1] and "LocateIntent" in rows[1] and ">200<" in rows[1]


def test_outbox_retry_now_and_discard(ui: FlaskClient) -> None:
    app_ext = skill_of(ui.application)
    outbox = app_ext.outbox
    assert outbox is not None
    first = outbox.put("notify", Message(message="one"), intent="LocateIntent")
    second = outbox.put("notify", Message(message="two"), intent="LocateIntent", hold_s=300)
    html = ui.get("/ui/outbox", headers=basic()).get_data(as_text=True)
    assert html.count("retry now") == 2
    token = csrf_of(html)
    assert ui.post(f"/ui/outbox/{first}/discard", data={"csrf": "bad"}, headers=basic()).status_code == 400
    assert outbox.depth() == 2
    response = ui.post(f"/ui/outbox/{first}/discard", data={"csrf": token}, headers=basic())
    assert response.status_code == 303 and outbox.depth() == 1
    before = {i.id: i.next_at for i in outbox.pending()}[second]
    ui.post(f"/ui/outbox/{second}/retry", data={"csrf": token}, headers=basic())
    (item,) = outbox.pending()
    assert item.id == second and item.next_at <= before
    assert ui.post(f"/ui/outbox/{second}/explode", data={"csrf": token}, headers=basic()).status_code == 404


def test_intents_page_lists_samples_slots_and_templates(ui: FlaskClient) -> None:
    html = ui.get("/ui/intents", headers=basic()).get_data(as_text=True)
    assert 'id="intent-LocateIntent"' in html and "where is {User}" in html
    assert "The location of {{ User }} has been queried via Alexa." in html


def test_banner_says_how_to_turn_it_on(make_ui) -> None:
    app = make_ui()
    assert not any(rule.rule.startswith("/ui") for rule in app.url_map.iter_rules())
