"""What the page server adds around Streamlit: security headers on every response, a seeded store, and the
route that streams a view's events as a file.

The launcher (serve.py at the top of the repository) wraps dashboard.py in Streamlit's ASGI app with
`SecurityHeaders`; this module holds the policy and the pieces, free of Streamlit, so they are tested alone.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from timeline import bundled, engines, exports, store
from timeline.errors import TimelineError, UsageError

CSP_ENV = "TIMELINE_CSP"
REFERRER_POLICY_ENV = "TIMELINE_REFERRER_POLICY"
PERMISSIONS_POLICY_ENV = "TIMELINE_PERMISSIONS_POLICY"

# Streamlit's page shell (index.html): its one inline script is allowed by its hash, nothing else inline.
STREAMLIT_INDEX = Path(importlib.util.find_spec("streamlit").origin).parent / "static" / "index.html"

# What the page needs, found by loading every tab in Chromium and listening for violations
# (tests/browser/test_headers.py); each source beyond 'self' says why it is there. Workers, frames and media
# fall back to default-src: the page starts and embeds none.
_DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    # The hash: Streamlit's one inline script (`window.prerenderReady = false`), read from its index.html.
    # blob: the "Copy link" button is a components.v2 component, whose JS Streamlit imports from a blob: URL
    # it makes of the script the page sends. 'wasm-unsafe-eval': Streamlit's protobuf reader compiles a
    # tiny WebAssembly module for 64-bit arithmetic. 'unsafe-eval': timelines of over 2,000 point events are
    # drawn with WebGL, and Plotly's WebGL layer (regl) compiles its drawing code with `Function(...)`;
    # without it those charts stay blank. It lets running scripts evaluate strings, never run injected ones.
    ("script-src", "'self' {inline_scripts} blob: 'wasm-unsafe-eval' 'unsafe-eval'"),
    # 'unsafe-inline': Streamlit styles its widgets with Emotion, which writes <style> elements at run time,
    # and Plotly sets style attributes on every mark; neither can carry a nonce or a hash.
    ("style-src", "'self' 'unsafe-inline'"),
    # data: Streamlit's icons are SVG in data: addresses; blob: Plotly's PNG export draws the chart as an
    # image from a blob: address.
    ("img-src", "'self' data: blob:"),
    # data: Streamlit inlines some of its fonts.
    ("font-src", "'self' data:"),
    # 'self' covers the page's websocket (ws: or wss: on the same host and port).
    ("connect-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'none'"),
)
REFERRER_POLICY = "same-origin"
# Powerful features the page never uses, off even if a script asked. The clipboard keeps the browser's own
# rule (this origin, on a click or with the reader's permission): "Copy link" writes it.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()"

_DIRECTIVE_NAME = re.compile(r"[a-z][a-z-]*")
# A header value: visible ASCII, spaces and tabs; no line break, which would split the header in two.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _InlineScripts(HTMLParser):
    """Collects the text of every <script> without a src attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._inline = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline = False

    def handle_data(self, data: str) -> None:
        if self._inline:
            self.scripts[-1] += data


def inline_script_hashes(html: str) -> list[str]:
    """CSP sources ('sha256-…') allowing exactly the inline scripts of an HTML page, in page order."""
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in parser.scripts
    ]


def _checked_value(value: str, setting: str) -> str:
    """value with its runs of spaces made one; a UsageError when a header could not carry it as it is."""
    if not _HEADER_VALUE.fullmatch(value):
        raise UsageError(
            f"{setting} holds a character a header cannot carry: {value!r}",
            hint="use printable ASCII on one line",
        )
    return " ".join(value.split())


def parse_directives(text: str, setting: str = CSP_ENV) -> dict[str, str]:
    """`name sources; name sources` as {name: sources}; a clear UsageError naming what is wrong."""
    directives: dict[str, str] = {}
    for part in text.split(";"):
        name, _, sources = _checked_value(part, setting).partition(" ")
        if not name:
            continue
        if not _DIRECTIVE_NAME.fullmatch(name.lower()) or "," in sources:
            raise UsageError(
                f"{setting}: {part.strip()!r} is not a Content-Security-Policy directive",
                hint="write directives as `name source source; name source`, e.g. "
                "\"frame-ancestors 'self' https://intranet.example.org\"",
            )
        directives[name.lower()] = sources
    return directives


def content_security_policy(overrides: str = "") -> str:
    """The page's Content-Security-Policy; each directive in `overrides` replaces the default of its name."""
    inline_scripts = " ".join(inline_script_hashes(STREAMLIT_INDEX.read_text(encoding="utf-8")))
    directives = {
        name: " ".join(sources.format(inline_scripts=inline_scripts).split()) for name, sources in _DIRECTIVES
    }
    directives.update(parse_directives(overrides))
    return "; ".join(f"{name} {sources}".strip() for name, sources in directives.items())


def security_headers(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers every response carries, with the operator's settings from `environ` (default: os.environ).

    X-Frame-Options follows the policy's frame-ancestors: DENY for 'none', SAMEORIGIN for 'self', and absent
    for a list of hosts (which it cannot express; every current browser obeys frame-ancestors instead)."""
    env = os.environ if environ is None else environ
    policy = content_security_policy(env.get(CSP_ENV, ""))
    frame_ancestors = parse_directives(policy).get("frame-ancestors", "")
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": _checked_value(
            env.get(REFERRER_POLICY_ENV) or REFERRER_POLICY, REFERRER_POLICY_ENV
        ),
        "Permissions-Policy": _checked_value(
            env.get(PERMISSIONS_POLICY_ENV) or PERMISSIONS_POLICY, PERMISSIONS_POLICY_ENV
        ),
        # Another site's window cannot keep a handle on this page (or it on theirs).
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    frame_options = {"'none'": "DENY", "'self'": "SAMEORIGIN"}.get(frame_ancestors)
    if frame_options:
        headers["X-Frame-Options"] = frame_options
    return headers


class SecurityHeaders:
    """ASGI middleware: sets `headers` on every HTTP response and websocket handshake, replacing any
    the app set under the same names (so one policy holds, whatever route answered)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.raw = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
        ]
        self.names = {name for name, _ in self.raw}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] in (
                "http.response.start",
                "websocket.accept",
                "websocket.http.response.start",
            ):
                kept = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in self.names
                ]
                message = {**message, "headers": kept + self.raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def seed_store(root: store.Root | None = None) -> store.VersionInfo | None:
    """Store the bundled dataset, built from its reviewed CSV, when the store holds no dataset yet.

    Returns the version written, or None when the store already held data (it is then left untouched)."""
    base = store.store_root() if root is None else root
    if store.list_datasets(root=base):
        return None
    return bundled.build(base)


def download_route() -> Route:
    """GET /download/events.csv (or .parquet) with a page link's parameters: the events that view shows,
    streamed a batch at a time (exports.view_download), whatever their number."""
    return Route(f"/{exports.DOWNLOAD_PATH}/{{name}}", _download, methods=["GET"])


async def _download(request: Request) -> Response:
    stem, _, fmt = request.path_params["name"].rpartition(".")
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    try:
        if stem != "events":
            raise UsageError(
                f"no file named {request.path_params['name']!r} here", hint="events.csv or events.parquet"
            )
        made = await run_in_threadpool(exports.view_download, params, fmt, engines.shared(os.environ))
    except TimelineError as problem:
        return PlainTextResponse(f"This download cannot be made: {problem}", status_code=404)
    disposition = f'attachment; filename="{made.file_name}"'  # a slug and a hex id: nothing to escape
    return StreamingResponse(
        made.chunks, media_type=made.media_type, headers={"Content-Disposition": disposition}
    )
