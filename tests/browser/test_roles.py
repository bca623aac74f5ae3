"""Roles in a real browser: Streamlit's own sign-in against a loopback OpenID Connect provider, a writers
list, and a read-only server (README, "Who may write")."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.conftest import BUNDLED, ROOT, VIEWPORT, WAIT_S, Server, running_server
from tests.oidc_provider import Account, OidcProvider

ALICE = Account(sub="alice-1", name="Alice Example", email="alice@example.org")
BOB = Account(sub="bob-2", name="Bob Example", email="bob@example.org")
WRITERS = {"TIMELINE_WRITERS": "alice@example.org"}
CSV = ROOT / "tests" / "data" / "plain_date_who_what.csv"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as running:
        yield running


def _secrets_file(folder: Path, auth: dict[str, str]) -> Path:
    """A secrets.toml holding only this [auth] section (TOML basic strings read JSON's escapes)."""
    path = folder / "secrets.toml"
    path.write_text("[auth]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in auth.items()))
    return path


def _server(
    tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider, env: dict[str, str]
) -> Iterator[tuple[Server, Path]]:
    """A page server with these settings and sign-in through the provider, on its own copy of the store."""
    store = tmp_path_factory.mktemp("roles-store")
    shutil.copytree(ROOT / "data" / BUNDLED, store / BUNDLED)
    folder = tmp_path_factory.mktemp("roles-server")
    auth = provider.secrets(cookie_secret=secrets.token_urlsafe(32))
    with running_server(store, folder, env=env, secrets=_secrets_file(folder, auth)) as server:
        yield server, store


@pytest.fixture(scope="module")
def writers_server(
    tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider
) -> Iterator[tuple[Server, Path]]:
    """A server whose only writer is alice@example.org."""
    yield from _server(tmp_path_factory, provider, WRITERS)


@pytest.fixture(scope="module")
def read_only_server(
    tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider
) -> Iterator[tuple[Server, Path]]:
    """A read-only server (its writers list, sign-in and all)."""
    yield from _server(tmp_path_factory, provider, {**WRITERS, "TIMELINE_READ_ONLY": "1"})


@pytest.fixture
def visit(browser: Browser, wait_ready: Callable[[Page], None]) -> Iterator[Callable[[str], Page]]:
    """visit(url): a page in a fresh browser context (no cookies: nobody signed in), opened and settled."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_page(url: str) -> Page:
        context = browser.new_context(viewport=dict(VIEWPORT))
        context.set_default_timeout(WAIT_S * 1000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        wait_ready(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, errors


def _sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def _uploaders(page: Page) -> int:
    return page.get_by_test_id("stFileUploader").count()


def _sign_in(
    page: Page, provider: OidcProvider, account: Account, wait_ready: Callable[[Page], None]
) -> None:
    """Click "Sign in to import": the browser goes to the provider, which signs the account in, and back."""
    provider.sign_in_as(account)
    page.get_by_role("button", name="Sign in to import").click()
    expect(_sidebar(page).get_by_text(f"Signed in as {account.name} ({account.email})")).to_be_visible()
    wait_ready(page)


def test_a_visitor_sees_no_uploader_but_a_way_to_sign_in(
    writers_server: tuple[Server, Path], visit: Callable[[str], Page]
) -> None:
    server, _ = writers_server
    page = visit(server.url)
    expect(_sidebar(page).get_by_text("Reading needs no sign-in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in to import")).to_be_visible()
    assert _uploaders(page) == 0


def test_a_signed_in_reader_who_is_not_a_writer_sees_no_uploader(
    writers_server: tuple[Server, Path],
    provider: OidcProvider,
    visit: Callable[[str], Page],
    wait_ready: Callable[[Page], None],
) -> None:
    server, _ = writers_server
    page = visit(server.url)
    _sign_in(page, provider, BOB, wait_ready)
    expect(
        _sidebar(page).get_by_text("Signed in as Bob Example (bob@example.org): you may read but not import.")
    ).to_be_visible()
    assert _uploaders(page) == 0
    assert provider.issued[-1] == BOB
    # Signing out ends the session: a visitor again, offered the sign-in.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in to import")).to_be_visible()
    wait_ready(page)
    assert _uploaders(page) == 0


def test_a_writer_imports_and_the_version_records_who_saved_it(
    writers_server: tuple[Server, Path],
    provider: OidcProvider,
    visit: Callable[[str], Page],
    wait_ready: Callable[[Page], None],
) -> None:
    server, store = writers_server
    page = visit(server.url)
    assert _uploaders(page) == 0
    _sign_in(page, provider, ALICE, wait_ready)
    expect(
        _sidebar(page).get_by_text("Signed in as Alice Example (alice@example.org): you may import.")
    ).to_be_visible()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(CSV)
    expect(page.get_by_text(re.compile(r"\d+ rows read"))).to_be_visible()
    name = page.get_by_label("Dataset name", exact=True)
    name.fill("alice upload")
    name.press("Enter")
    save = page.get_by_role("button", name=re.compile(r"^Save as dataset"))
    expect(save).to_contain_text("alice-upload")
    save.click()
    expect(page.get_by_text(re.compile(r"^Saved"))).to_be_visible()
    metas = list((store / "alice-upload").glob("*/meta.json"))
    assert len(metas) == 1
    assert json.loads(metas[0].read_text())["saved_by"] == {
        "name": "Alice Example",
        "email": "alice@example.org",
        "via": "page",
    }


def test_a_read_only_server_offers_no_uploader_and_no_sign_in(
    read_only_server: tuple[Server, Path], visit: Callable[[str], Page]
) -> None:
    server, _ = read_only_server
    page = visit(server.url)
    expect(
        _sidebar(page).get_by_text("This server is read-only: nothing can be imported here.")
    ).to_be_visible()
    assert _uploaders(page) == 0
    expect(page.get_by_role("button", name=re.compile("Sign in"))).to_have_count(0)
