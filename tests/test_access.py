"""Who may write: the operator's settings and the decisions (timeline.access), and the page's states (AppTest
fakes st.user and st.secrets; the real sign-in is tested in the browser, tests/browser/test_roles.py)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from timeline import access, bundled, richtext, store
from timeline.access import AccessSettings, User

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
AUTH = {
    "redirect_uri": "http://127.0.0.1:{port}/oauth2callback",
    "cookie_secret": "a long random secret for tests only",
    "client_id": "event-timeline",
    "client_secret": "client secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ALICE = {"is_logged_in": True, "name": "Alice Example", "email": "Alice@Example.org", "email_verified": True}
BOB = {"is_logged_in": True, "name": "Bob Example", "email": "bob@example.org", "email_verified": True}
READ_WAIT_S = 60
OPEN = "Imports are open to anyone who can open this page (no writers configured)."


def _settings(writers: str = "", read_only: str = "", auth: dict | None = AUTH) -> AccessSettings:
    return AccessSettings.read({"TIMELINE_WRITERS": writers, "TIMELINE_READ_ONLY": read_only}, auth)


# --- the settings ---------------------------------------------------------------------------------------


def test_nothing_configured_is_the_local_default_open_to_anyone() -> None:
    """`make run` on one's own machine: no writers, not read-only, no sign-in; anyone on the page imports."""
    settings = AccessSettings.read({}, None)
    assert settings == AccessSettings(sign_in_problem=access.NO_SIGN_IN)
    assert access.may_write(None, settings)
    shown = access.page_access(settings, None)
    assert (shown.may_write, shown.caption, shown.offer_sign_in, shown.offer_sign_out) == (
        True,
        OPEN,
        False,
        False,
    )


def test_writers_are_read_lower_case_separated_by_commas_or_spaces() -> None:
    writers, problem = access.parse_writers(" Alice@Example.org,*@Team.Example.org\n bob@example.org, ,")
    assert writers == ("alice@example.org", "*@team.example.org", "bob@example.org")
    assert problem is None


@pytest.mark.parametrize("entry", ["alice", "@example.org", "alice@", "a*@example.org", "*@*.org", "a@b@c"])
def test_a_wrong_writers_entry_closes_imports_and_is_named(entry: str) -> None:
    settings = _settings(writers=f"alice@example.org,{entry}")
    assert settings.problem is not None and repr(entry.lower()) in settings.problem
    assert not access.may_write("alice@example.org", settings)
    shown = access.page_access(settings, User.from_claims(ALICE))
    assert not shown.may_write
    assert shown.caption.startswith("Imports are closed: TIMELINE_WRITERS has entries")
    assert "*@example.org" in shown.caption  # the form a whole domain takes


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("alice@example.org", True),
        ("ALICE@EXAMPLE.ORG", True),
        (" alice@example.org ", True),
        ("carol@team.example.org", True),
        ("bob@example.org", False),
        ("alice@example.org.evil.test", False),
        ("carol@sub.team.example.org", False),  # a domain entry names that domain only
        ("alice", False),
        ("", False),
        (None, False),
    ],
)
def test_may_write_matches_the_list_case_insensitively(email: str | None, allowed: bool) -> None:
    settings = _settings(writers="alice@example.org, *@team.example.org")
    assert access.may_write(email, settings) is allowed


def test_read_only_closes_everything_even_for_a_listed_writer() -> None:
    settings = _settings(writers="alice@example.org", read_only="1")
    assert not access.may_write("alice@example.org", settings)
    shown = access.page_access(settings, User.from_claims(ALICE))
    assert shown == access.PageAccess(False, "This server is read-only: nothing can be imported here.")


@pytest.mark.parametrize(("value", "read_only"), [("1", True), ("true", True), ("ON", True), ("0", False)])
def test_read_only_switch_values(value: str, read_only: bool) -> None:
    assert _settings(read_only=value).read_only is read_only
    assert access.may_write(None, _settings(read_only=value)) is not read_only


def test_an_unreadable_read_only_switch_fails_closed_and_says_why() -> None:
    settings = _settings(read_only="perhaps")
    assert settings.read_only and not access.may_write(None, settings)
    assert access.page_access(settings, None).caption == (
        "This server is read-only: nothing can be imported here "
        "(TIMELINE_READ_ONLY is 'perhaps', neither 1 nor 0)."
    )


def test_writers_without_sign_in_fail_closed() -> None:
    """A writers list but no [auth] secrets: no one can prove who they are, so no one imports."""
    settings = _settings(writers="alice@example.org", auth=None)
    assert not access.may_write("alice@example.org", settings)
    shown = access.page_access(settings, None)
    assert not shown.may_write and not shown.offer_sign_in
    assert shown.caption == (
        "Imports are closed: a writers list is set but sign-in is not configured "
        "(no [auth] section in the server's secrets)."
    )


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        (None, access.NO_SIGN_IN),
        ({}, access.NO_SIGN_IN),
        (AUTH, None),
        ({k: v for k, v in AUTH.items() if k != "cookie_secret"}, "the [auth] secrets lack cookie_secret"),
        (
            {"redirect_uri": "x", "cookie_secret": "y"},
            "the [auth] secrets lack client_id, client_secret, server_metadata_url",
        ),
        (
            {
                "redirect_uri": "x",
                "cookie_secret": "y",
                "default": {"client_id": "a", "client_secret": "b", "server_metadata_url": "c"},
            },
            None,
        ),
    ],
)
def test_sign_in_problem_names_what_st_login_would_miss(auth: dict | None, problem: str | None) -> None:
    assert access.sign_in_problem(auth) == problem


# --- the user -------------------------------------------------------------------------------------------


def test_no_user_unless_streamlit_says_logged_in() -> None:
    """AppTest's default st.user has an e-mail address but is not logged in: that is no one."""
    assert User.from_claims({}) is None
    assert User.from_claims({"email": "test@example.com"}) is None
    assert User.from_claims({**BOB, "is_logged_in": False}) is None
    assert User.from_claims({**BOB, "is_logged_in": "true"}) is None


@pytest.mark.parametrize(("claim", "verified"), [(True, True), ("true", True), (False, False), (None, False)])
def test_only_a_verified_email_counts(claim: object, verified: bool) -> None:
    user = User.from_claims({**ALICE, "email_verified": claim})
    assert user is not None
    assert (user.verified_email == "Alice@Example.org") is verified
    assert access.may_write(user.verified_email, _settings(writers="alice@example.org")) is verified


def test_each_page_state_says_who_and_what() -> None:
    settings = _settings(writers="alice@example.org")
    visitor = access.page_access(settings, None)
    assert (visitor.may_write, visitor.offer_sign_in, visitor.offer_sign_out) == (False, True, False)
    bob = access.page_access(settings, User.from_claims(BOB))
    assert bob == access.PageAccess(
        False, "Signed in as Bob Example (bob@example.org): you may read but not import.", offer_sign_out=True
    )
    alice = access.page_access(settings, User.from_claims(ALICE))
    assert alice == access.PageAccess(
        True, "Signed in as Alice Example (Alice@Example.org): you may import.", offer_sign_out=True
    )
    unverified = access.page_access(settings, User.from_claims({**ALICE, "email_verified": False}))
    assert not unverified.may_write
    assert unverified.caption.endswith("(the sign-in provider did not verify your e-mail address).")
    open_signed_in = access.page_access(_settings(), User.from_claims(BOB))
    assert open_signed_in.may_write and open_signed_in.offer_sign_out
    assert open_signed_in.caption == f"You are signed in as Bob Example (bob@example.org). {OPEN}"


def test_page_author_records_the_verified_user_or_an_anonymous_visitor() -> None:
    alice = access.page_author(User.from_claims(ALICE))
    assert alice == store.Author(name="Alice Example", email="Alice@Example.org", via="page")
    unverified = access.page_author(User.from_claims({**ALICE, "email_verified": False}))
    assert unverified == store.Author(name="Alice Example", email=None, via="page")
    assert access.page_author(None) == store.Author(name=access.ANONYMOUS, via="page")
    nameless = access.page_author(User.from_claims({"is_logged_in": True, "email": "x@example.org"}))
    assert nameless.name == access.ANONYMOUS


# --- the page (AppTest) ---------------------------------------------------------------------------------


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private store holding a copy of the bundled dataset; no access settings from the caller's shell."""
    root = tmp_path / "store"
    shutil.copytree(store.DEFAULT_ROOT / bundled.DATASET_ID, root / bundled.DATASET_ID)
    monkeypatch.setenv("TIMELINE_DATA_DIR", str(root))
    monkeypatch.delenv(access.WRITERS_ENV_VAR, raising=False)
    monkeypatch.delenv(access.READ_ONLY_ENV_VAR, raising=False)
    return root


def _page(user: dict | None = None, auth: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    if user is not None:
        at.user = user
    if auth is not None:
        at.secrets["auth"] = auth
    return at.run()


def _says(elements: object, text: str) -> bool:
    """Whether one of these Markdown elements shows this text (written as the page writes literal text)."""
    return any(richtext.literal_markdown(text) in element.value for element in elements)


def _buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.sidebar.button]


def _upload(at: AppTest, name: str) -> AppTest:
    """Upload the plain test file, name it, and rerun until its reading is shown (imports run in a thread)."""
    content = (DATA / "plain_date_who_what.csv").read_bytes()
    at.sidebar.file_uploader[0].upload("events.csv", content, "text/csv").run()
    at.text_input(key="import_name").set_value(name).run()
    deadline = time.monotonic() + READ_WAIT_S
    while not any(b.label.startswith("Save as dataset") for b in at.button):
        assert time.monotonic() < deadline, "the upload was not read in time"
        time.sleep(0.2)
        at.run()
    return at


def _upload_and_save(at: AppTest, name: str) -> None:
    next(b for b in _upload(at, name).button if b.label.startswith("Save as dataset")).click().run()


def _saved_by(store_dir: Path, dataset_id: str) -> list[dict]:
    return [json.loads(meta.read_text())["saved_by"] for meta in (store_dir / dataset_id).glob("*/meta.json")]


def test_page_open_by_default_says_so_and_records_an_anonymous_author(store_dir: Path) -> None:
    at = _page()
    assert not at.exception
    assert len(at.sidebar.file_uploader) == 1
    assert _says(at.sidebar.caption, OPEN)
    assert not {"Sign in to import", "Sign out"} & set(_buttons(at))
    _upload_and_save(at, "Open events")
    assert not at.exception
    assert _saved_by(store_dir, "open-events") == [{"name": access.ANONYMOUS, "via": "page", "email": None}]


def test_page_read_only_has_no_uploader_and_no_sign_in(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(access.READ_ONLY_ENV_VAR, "1")
    monkeypatch.setenv(access.WRITERS_ENV_VAR, "alice@example.org")
    at = _page(user=ALICE, auth=AUTH)
    assert not at.exception
    assert not at.sidebar.file_uploader
    assert _says(at.sidebar.caption, "This server is read-only: nothing can be imported here.")
    assert not {"Sign in to import", "Sign out"} & set(_buttons(at))


def test_page_with_writers_but_no_sign_in_is_closed(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(access.WRITERS_ENV_VAR, "alice@example.org")
    at = _page(user=ALICE)
    assert not at.exception
    assert not at.sidebar.file_uploader
    assert _says(at.sidebar.caption, "sign-in is not configured")
    assert "Sign in to import" not in _buttons(at)


@pytest.mark.parametrize(
    ("user", "said", "button"),
    [
        ({"is_logged_in": False}, "Reading needs no sign-in", "Sign in to import"),
        (BOB, "Signed in as Bob Example (bob@example.org): you may read but not import.", "Sign out"),
        ({**ALICE, "email_verified": False}, "you may read but not import (the sign-in provider", "Sign out"),
    ],
)
def test_page_shows_no_uploader_to_a_non_writer(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, user: dict, said: str, button: str
) -> None:
    monkeypatch.setenv(access.WRITERS_ENV_VAR, "alice@example.org")
    at = _page(user=user, auth=AUTH)
    assert not at.exception
    assert not at.sidebar.file_uploader
    assert _says(at.sidebar.caption, said), [c.value for c in at.sidebar.caption]
    assert button in _buttons(at)


def test_page_lets_a_writer_import_and_records_who(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(access.WRITERS_ENV_VAR, "alice@example.org")
    at = _page(user=ALICE, auth=AUTH)
    assert len(at.sidebar.file_uploader) == 1
    assert _says(at.sidebar.caption, "Signed in as Alice Example (Alice@Example.org): you may import.")
    assert "Sign out" in _buttons(at)
    _upload_and_save(at, "Alice's events")
    assert not at.exception
    assert any("Saved" in s.value for s in at.success)
    assert _saved_by(store_dir, "alice-s-events") == [
        {"name": "Alice Example", "via": "page", "email": "Alice@Example.org"}
    ]


def test_a_stale_session_cannot_save(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The uploader was shown to a writer, then the operator took her off the list: Save checks again and
    refuses."""
    monkeypatch.setenv(access.WRITERS_ENV_VAR, "alice@example.org")
    at = _upload(_page(user=ALICE, auth=AUTH), "Stale events")
    save = next(b for b in at.button if b.label.startswith("Save as dataset"))
    monkeypatch.setenv(access.WRITERS_ENV_VAR, "bob@example.org")
    save.click().run()
    assert not at.exception
    assert not (store_dir / "stale-events").exists()
    refusal = "The dataset was not saved: Signed in as Alice Example (Alice@Example.org): you may read"
    assert _says(at.error, refusal), [e.value for e in at.error]
    assert not at.sidebar.file_uploader
