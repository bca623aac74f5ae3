"""A minimal OpenID Connect provider for tests, served on loopback: nothing leaves the machine.

It follows OpenID Connect Core 1.0 for the authorization code flow as a real provider does: a discovery
document (/.well-known/openid-configuration), its signing key as a JWKS, an authorization endpoint, a token
endpoint (client_secret_basic or client_secret_post) issuing an RS256-signed id_token with the nonce, and
a userinfo endpoint. What no test can do is fill in a login form, so the authorization endpoint signs in
the user the test chose beforehand (`sign_in_as`) at once; with no user chosen it answers access_denied.
Any loopback redirect URI ending in /oauth2callback is accepted, whatever its port (as RFC 8252, 7.3
has providers treat loopback redirect URIs), since the page server's port is chosen when it starts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CODE_LIFETIME_S = 60
TOKEN_LIFETIME_S = 300
SIGNING_ALG = "RS256"


@dataclass(frozen=True)
class Account:
    """A user the provider can sign in: the identity claims its id_token carries."""

    sub: str
    name: str
    email: str
    email_verified: bool = True

    def claims(self) -> dict[str, object]:
        return {
            "sub": self.sub,
            "name": self.name,
            "email": self.email,
            "email_verified": self.email_verified,
        }


@dataclass(frozen=True)
class _Grant:
    """What an authorization code stands for until the token endpoint redeems it (once)."""

    account: Account
    client_id: str
    redirect_uri: str
    nonce: str | None
    expires: float


class OidcProvider:
    """The provider, run in a thread on 127.0.0.1 and a free port; a context manager that stops it.

    `issuer` is its base URL, `metadata_url` the discovery document, `client_id` and `client_secret` the
    one client registered with it; `secrets(...)` gives the [auth] section that points Streamlit at it.
    """

    def __init__(self) -> None:
        self.client_id = f"event-timeline-{secrets.token_hex(4)}"
        self.client_secret = secrets.token_urlsafe(24)
        self._key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": SIGNING_ALG}, auto_kid=True)
        self._account: Account | None = None
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, Account] = {}
        self._lock = threading.Lock()
        self.issued: list[Account] = []  # every account an id_token was issued for, in order
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.metadata_url = f"{self.issuer}/.well-known/openid-configuration"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)

    def __enter__(self) -> OidcProvider:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def sign_in_as(self, account: Account | None) -> None:
        """The account the next authorization request signs in (None: the user declines, access_denied)."""
        with self._lock:
            self._account = account

    def secrets(self, cookie_secret: str | None = None) -> dict[str, str]:
        """The [auth] secrets for a Streamlit server on 127.0.0.1 (its port filled in by Streamlit)."""
        return {
            "redirect_uri": "http://127.0.0.1:{port}/oauth2callback",
            "cookie_secret": cookie_secret or secrets.token_urlsafe(32),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "server_metadata_url": self.metadata_url,
        }

    # --- the endpoints --------------------------------------------------------------------------------

    def metadata(self) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALG],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "nonce",
                "name",
                "email",
                "email_verified",
            ],
        }

    def jwks(self) -> dict[str, object]:
        return {"keys": [self._key.as_dict(private=False)]}

    def authorize(self, query: dict[str, str]) -> str:
        """The URL the browser is sent back to: the redirect URI with a code (or an error) and the state."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not _is_loopback_callback(redirect_uri):
            raise _Refused(400, "invalid_request", "unknown client_id or unregistered redirect_uri")
        answer = {"state": query["state"]} if "state" in query else {}
        with self._lock:
            account = self._account
            if query.get("response_type") != "code":
                answer |= {"error": "unsupported_response_type"}
            elif "openid" not in query.get("scope", "").split():
                answer |= {"error": "invalid_scope", "error_description": "the openid scope is required"}
            elif account is None:
                answer |= {"error": "access_denied", "error_description": "no test account was chosen"}
            else:
                code = secrets.token_urlsafe(24)
                self._grants[code] = _Grant(
                    account, self.client_id, redirect_uri, query.get("nonce"), time.time() + CODE_LIFETIME_S
                )
                answer |= {"code": code}
        return f"{redirect_uri}?{urlencode(answer)}"

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, object]:
        """Redeem an authorization code for an access token and a signed id_token."""
        client_id, client_secret = _client_credentials(form, authorization)
        if client_id != self.client_id or not secrets.compare_digest(client_secret or "", self.client_secret):
            raise _Refused(401, "invalid_client", "unknown client or wrong secret")
        if form.get("grant_type") != "authorization_code":
            raise _Refused(400, "unsupported_grant_type", "only authorization_code is supported")
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)
        if grant is None or grant.expires < time.time() or grant.redirect_uri != form.get("redirect_uri"):
            raise _Refused(400, "invalid_grant", "unknown, used or expired code, or another redirect_uri")
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
            "auth_time": now,
            "at_hash": _half_hash(access_token),
            **grant.account.claims(),
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        id_token = jwt.encode({"alg": SIGNING_ALG, "kid": self._key.kid}, claims, self._key)
        with self._lock:
            self._tokens[access_token] = grant.account
            self.issued.append(grant.account)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S,
            "id_token": id_token,
        }

    def userinfo(self, authorization: str | None) -> dict[str, object]:
        scheme, _, access_token = (authorization or "").partition(" ")
        with self._lock:
            account = self._tokens.get(access_token) if scheme.lower() == "bearer" else None
        if account is None:
            raise _Refused(401, "invalid_token", "unknown access token")
        return account.claims()


class _Refused(Exception):
    """An OAuth error response: its HTTP status, error code and description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


def _is_loopback_callback(uri: str) -> bool:
    parts = urlsplit(uri)
    return (
        parts.scheme == "http"
        and parts.hostname in ("127.0.0.1", "localhost")
        and (parts.path.endswith("/oauth2callback"))
    )


def _client_credentials(form: dict[str, str], authorization: str | None) -> tuple[str | None, str | None]:
    """client_secret_basic (RFC 6749, 2.3.1: form-encoded id and secret in Basic) or client_secret_post."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return None, None
        return _form_decode(user), _form_decode(password)
    return form.get("client_id"), form.get("client_secret")


def _form_decode(text: str) -> str:
    return parse_qs(f"x={text}").get("x", [""])[0]


def _half_hash(access_token: str) -> str:
    """at_hash: the left half of the SHA-256 of the access token, base64url without padding."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def _handler_for(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet: a test's output is its own."""

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            try:
                if parts.path == "/.well-known/openid-configuration":
                    self._json(200, provider.metadata())
                elif parts.path == "/jwks":
                    self._json(200, provider.jwks())
                elif parts.path == "/authorize":
                    self.send_response(302)
                    self.send_header("Location", provider.authorize(query))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif parts.path == "/userinfo":
                    self._json(200, provider.userinfo(self.headers.get("Authorization")))
                else:
                    self._json(404, {"error": "not_found"})
            except _Refused as refusal:
                self._json(refusal.status, refusal.body)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._json(404, {"error": "not_found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            form = {key: values[0] for key, values in parse_qs(body).items()}
            try:
                self._json(200, provider.token(form, self.headers.get("Authorization")))
            except _Refused as refusal:
                self._json(refusal.status, refusal.body)

        def _json(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
