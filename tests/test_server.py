"""The page server: its security headers, its store outside the repository, the systemd unit running it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from bench.browser import free_port, healthy
from timeline import bundled, server, store
from timeline.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "event-timeline.service"
ENV_EXAMPLE = ROOT / "deploy" / "event-timeline.env"
INSTALLED_AT = "/opt/event-timeline"
START_S = 60.0
REQUIRED = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Permissions-Policy",
)


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in policy.split(";") if part.strip())}


# --- the policy ---------------------------------------------------------------------------------------


def test_default_headers_forbid_framing_sniffing_and_foreign_or_inline_script() -> None:
    """Out of the box: no frame may hold the page, no content is sniffed, script comes from the server only
    (plus the exact inline script Streamlit's shell holds, by hash), plugins and <base> are shut."""
    headers = server.security_headers({})
    assert set(REQUIRED) <= set(headers)
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = _directives(headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert not [source for source in policy["script-src"] if source.startswith(("http", "*", "data:"))]
    shell = server.STREAMLIT_INDEX.read_text(encoding="utf-8")
    assert server.inline_script_hashes(shell)[0] in policy["script-src"]
    assert "camera=()" in headers["Permissions-Policy"]


def test_inline_script_hashes_cover_exactly_the_inline_scripts_as_written() -> None:
    """Every inline script's exact text (its whitespace included) is hashed; scripts with src are not."""
    page = (
        "<html><head><script>\n  window.a = 1\n</script>"
        '<script type="module" src="./x.js"></script></head>'
        "<body><script>b()</script></body></html>"
    )
    expected = [
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
        for text in ("\n  window.a = 1\n", "b()")
    ]
    assert server.inline_script_hashes(page) == expected


def test_an_operator_directive_replaces_the_default_of_its_name_only() -> None:
    """TIMELINE_CSP names directives; each replaces the default of its name, the others stay. Framing by a
    portal then drops X-Frame-Options (it cannot name a host), 'self' turns it into SAMEORIGIN."""
    headers = server.security_headers(
        {
            server.CSP_ENV: "frame-ancestors 'self' https://portal.example.org; img-src 'self' https://tiles.example.org"
        }
    )
    policy = _directives(headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'self'", "https://portal.example.org"]
    assert policy["img-src"] == ["'self'", "https://tiles.example.org"]
    assert policy["object-src"] == ["'none'"]
    assert "X-Frame-Options" not in headers
    assert (
        server.security_headers({server.CSP_ENV: "frame-ancestors 'self'"})["X-Frame-Options"] == "SAMEORIGIN"
    )
    assert (
        server.security_headers({server.REFERRER_POLICY_ENV: "no-referrer"})["Referrer-Policy"]
        == "no-referrer"
    )
    permissions = server.security_headers({server.PERMISSIONS_POLICY_ENV: "camera=()"})["Permissions-Policy"]
    assert permissions == "camera=()"


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        (server.CSP_ENV, "script-src 'self', 'unsafe-inline'", "is not a Content-Security-Policy directive"),
        (server.CSP_ENV, "img-src 'self'\r\nSet-Cookie: a=b", "a character a header cannot carry"),
        (server.CSP_ENV, "script_src 'self'", "is not a Content-Security-Policy directive"),
        (server.REFERRER_POLICY_ENV, "same-origin\nX-Evil: 1", "a character a header cannot carry"),
        (server.PERMISSIONS_POLICY_ENV, "camera=(\x00)", "a character a header cannot carry"),
    ],
)
def test_a_setting_a_header_cannot_carry_is_refused_naming_the_setting(
    setting: str, value: str, said: str
) -> None:
    """A bad setting stops the server with a message naming the variable and what is wrong, never a header
    split in two or a second policy smuggled in with a comma."""
    with pytest.raises(UsageError, match=re.escape(said)) as refused:
        server.security_headers({setting: value})
    assert setting in str(refused.value)


# --- the middleware -----------------------------------------------------------------------------------


def _sent(scope_type: str, message: dict) -> list[dict]:
    """The messages the middleware passes on when the wrapped app sends `message`."""
    sent: list[dict] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        await send(message)  # type: ignore[operator]

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {}

    middleware = server.SecurityHeaders(app, {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"})
    # A loop of its own, in a thread of its own: Playwright's sync API keeps a loop running in this thread
    # once a browser test has run in the same session.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, middleware({"type": scope_type}, receive, send)).result()
    return sent


def test_middleware_sets_its_headers_replacing_the_apps_own() -> None:
    """An HTTP response gets each header once, with the policy's value, whatever the route set."""
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain"), (b"X-Content-Type-Options", b"sniff-please")],
    }
    [message] = _sent("http", start)
    assert message["headers"] == [
        (b"content-type", b"text/plain"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
    ]


def test_middleware_sets_its_headers_on_a_websocket_handshake() -> None:
    [message] = _sent("websocket", {"type": "websocket.accept", "subprotocol": "streamlit"})
    assert message["subprotocol"] == "streamlit"
    assert (b"x-frame-options", b"DENY") in message["headers"]


# --- the store ----------------------------------------------------------------------------------------


def test_an_empty_store_is_seeded_with_the_bundled_dataset_built_from_its_csv(tmp_path: Path) -> None:
    """A new store (a service's first start) gets the bundled dataset, the same version the repository holds
    (versions are content hashes), so a link pinned on one server opens on the other."""
    root = tmp_path / "var" / "lib" / "event-timeline"
    seeded = server.seed_store(root)
    assert seeded is not None
    assert seeded.dataset_id == bundled.DATASET_ID
    assert seeded.path.is_relative_to(root)
    shipped = store.version_info(bundled.DATASET_ID, root=store.DEFAULT_ROOT)
    assert seeded.version == shipped.version


def test_a_store_holding_data_is_left_untouched(tmp_path: Path) -> None:
    root = tmp_path / "store"
    shutil.copytree(store.DEFAULT_ROOT / bundled.DATASET_ID, root / "theirs")
    before = sorted(path.relative_to(root) for path in root.rglob("*"))
    assert server.seed_store(root) is None
    assert sorted(path.relative_to(root) for path in root.rglob("*")) == before


# --- the service --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """The [Service] section of a unit: each setting's last value, the Environment= pairs, the command."""

    settings: dict[str, str]
    environment: dict[str, str]
    command: str


def _service_section(text: str) -> Service:
    values: dict[str, list[str]] = {}
    section = ""
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            name, _, value = line.partition("=")
            values.setdefault(name.strip(), []).append(value.strip())
    [command] = values["ExecStart"]
    environment = dict(
        pair.split("=", 1) for value in values.get("Environment", []) for pair in value.split()
    )
    return Service({name: found[-1] for name, found in values.items()}, environment, command)


def test_the_unit_runs_as_its_own_user_with_its_store_in_its_state_directory() -> None:
    """The unit names a dedicated user, lets systemd create /var/lib/event-timeline for it, points the store
    there (never the repository), is read-only by default and starts the launcher."""
    unit = _service_section(UNIT.read_text())
    assert unit.settings["User"] == "event-timeline"
    assert unit.settings["StateDirectory"] == "event-timeline"
    assert unit.settings["ProtectSystem"] == "strict"
    assert unit.environment["TIMELINE_DATA_DIR"] == "/var/lib/event-timeline"
    assert unit.environment["TIMELINE_READ_ONLY"] == "1"
    assert unit.command == f"{INSTALLED_AT}/.venv/bin/streamlit run {INSTALLED_AT}/serve.py"
    # Every setting the example environment file names is one the README explains.
    readme = (ROOT / "README.md").read_text()
    for name in re.findall(r"^#?([A-Z_]+)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE):
        assert re.search(rf"`\$?{name}[`=]", readme), f"{name} is not explained in README.md"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify` reads every directive (an unknown or misspelt one is reported), on a copy
    installed at this checkout so its command exists."""
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED_AT, str(ROOT)))
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.strip() == ""


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The unit's command with the unit's environment, as systemd would start it at this checkout: the state
    directory a fresh empty one, the port a free one. Yields the base URL and the state directory."""
    unit = _service_section(UNIT.read_text())
    state = tmp_path / "var" / "lib" / "event-timeline"
    state.mkdir(parents=True)  # systemd creates StateDirectory= before the start
    port = free_port()
    environment = unit.environment | {
        "TIMELINE_DATA_DIR": str(state),
        "STREAMLIT_SERVER_PORT": str(port),
        "HOME": str(tmp_path),
    }
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith(("TIMELINE_", "STREAMLIT_"))
    }
    command = unit.command.replace(INSTALLED_AT, str(ROOT)).split()
    command[0] = str(Path(sys.executable).with_name("streamlit"))  # this checkout's .venv
    log = tmp_path / "service.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=inherited | environment, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while not healthy(url):
            assert process.poll() is None, f"the service exited: {log.read_text(errors='replace')}"
            assert time.monotonic() < deadline, f"no answer within {START_S:.0f} s: {log.read_text()}"
            time.sleep(0.25)
        yield url, state
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _headers(url: str) -> Message:
    """The response headers at url (a 404 too), looked up by name in any case."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.headers
    except urllib.error.HTTPError as error:
        return error.headers


def test_the_service_serves_every_response_with_the_headers_from_its_own_store(
    service: tuple[str, Path],
) -> None:
    """Started as the unit starts it: the page, a script of the page, the health check, an unknown path and
    the websocket handshake all carry the headers, and the store, seeded on first start, is the state
    directory, not the repository's data/."""
    url, state = service
    shell = urllib.request.urlopen(url, timeout=10).read().decode()
    script = re.search(r'<script type="module" crossorigin src="\./([^"]+)"', shell)
    assert script, shell[:500]
    expected = server.security_headers({})
    for path in ("/", f"/{script[1]}", "/_stcore/health", "/no/such/page"):
        got = _headers(url + path)
        for name in REQUIRED:
            assert got.get(name) == expected[name], (path, name, got.get(name))
    with connect(
        url.replace("http", "ws") + "/_stcore/stream",
        subprotocols=[Subprotocol("streamlit")],
        open_timeout=10,
    ) as socket:
        handshake = socket.response.headers
        for name in REQUIRED:
            assert handshake.get(name) == expected[name], (name, handshake.get(name))
    datasets = store.list_datasets(root=state)
    assert [dataset.dataset_id for dataset in datasets] == [bundled.DATASET_ID]


def test_a_bad_header_setting_stops_the_launcher_with_one_line(tmp_path: Path) -> None:
    """`streamlit run serve.py` with a setting a header cannot carry exits at once, saying which and why,
    without a traceback."""
    env = {
        **os.environ,
        server.CSP_ENV: "script-src 'self', 'unsafe-inline'",
        "TIMELINE_DATA_DIR": str(tmp_path),
    }
    command = [
        str(Path(sys.executable).with_name("streamlit")),
        "run",
        "serve.py",
        "--server.port",
        str(free_port()),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert f"event-timeline: cannot start: {server.CSP_ENV}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
