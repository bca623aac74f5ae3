"""Who may write (import, merge) on this server: the operator's configuration and the decisions it implies.

Reading needs nothing. Writing is open to anyone when the operator names no writers (a dashboard on one's
own machine), else only to signed-in users whose verified e-mail address the writers list names; a
read-only server lets no one write. Everything here is a plain function of the settings and the signed-in
user's claims, so the page and the tests ask the same questions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from timeline import store

WRITERS_ENV_VAR = "TIMELINE_WRITERS"
READ_ONLY_ENV_VAR = "TIMELINE_READ_ONLY"
# What st.login needs in the [auth] secrets for the default provider (Streamlit checks the same keys).
SIGN_IN_SHARED_KEYS = ("redirect_uri", "cookie_secret")
SIGN_IN_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")
NO_SIGN_IN = "no [auth] section in the server's secrets"
ANONYMOUS = "a visitor who did not sign in"  # who saved a version on a server open to anyone


@dataclass(frozen=True)
class AccessSettings:
    """The operator's choices, read once per run.

    writers: lower-case entries, each an e-mail address or `*@domain` (everyone at that domain); empty:
    no writers list, so anyone on the page may write. read_only: no one may write. sign_in_problem: why
    Streamlit's sign-in cannot work (no or incomplete [auth] secrets), None when it can. problem: what is
    wrong in the configuration itself; any problem closes writing (fail closed).
    """

    writers: tuple[str, ...] = ()
    read_only: bool = False
    sign_in_problem: str | None = NO_SIGN_IN
    problem: str | None = None

    @classmethod
    def read(cls, environ: Mapping[str, str], auth: Mapping[str, object] | None) -> AccessSettings:
        """The settings from the environment (TIMELINE_WRITERS, TIMELINE_READ_ONLY) and the [auth] secrets."""
        writers, writers_problem = parse_writers(environ.get(WRITERS_ENV_VAR, ""))
        read_only, read_only_problem = parse_read_only(environ.get(READ_ONLY_ENV_VAR, ""))
        return cls(
            writers=writers,
            read_only=read_only,
            sign_in_problem=sign_in_problem(auth),
            problem="; ".join(p for p in (read_only_problem, writers_problem) if p) or None,
        )


@dataclass(frozen=True)
class User:
    """The signed-in user, from the claims of their OpenID Connect identity token (st.user)."""

    name: str | None
    email: str | None
    email_verified: bool

    @classmethod
    def from_claims(cls, claims: Mapping[str, object]) -> User | None:
        """The user st.user describes, or None when no one is signed in."""
        if claims.get("is_logged_in") is not True:
            return None
        verified = claims.get("email_verified")
        # Some providers send the claim as the string "true"; anything else is not a verification.
        return cls(
            name=_claim_text(claims, "name"),
            email=_claim_text(claims, "email"),
            email_verified=verified is True or (isinstance(verified, str) and verified.lower() == "true"),
        )

    @property
    def verified_email(self) -> str | None:
        """The e-mail address the provider vouches for; None when it does not (or there is none)."""
        return self.email if self.email_verified else None

    def describe(self) -> str:
        """The user in words: 'Alice Example (alice@example.org)'."""
        if self.name and self.email and self.name != self.email:
            return f"{self.name} ({self.email})"
        return self.name or self.email or "an account with neither a name nor an e-mail address"


def _claim_text(claims: Mapping[str, object], key: str) -> str | None:
    value = claims.get(key)
    return value.strip() or None if isinstance(value, str) else None


@dataclass(frozen=True)
class PageAccess:
    """What the sidebar offers: the uploader or not, a sign-in or sign-out button, and one line saying why."""

    may_write: bool
    caption: str
    offer_sign_in: bool = False
    offer_sign_out: bool = False


def parse_writers(text: str) -> tuple[tuple[str, ...], str | None]:
    """The writers list from its text (entries separated by commas or white space), and what is wrong in it.

    An entry is an e-mail address or `*@domain`; both are compared in lower case. A list with a wrong
    entry keeps its other entries but comes with a problem, which closes writing until it is fixed.
    """
    entries = tuple(dict.fromkeys(entry.lower() for entry in text.replace(",", " ").split()))
    wrong = [entry for entry in entries if not _is_writer_entry(entry)]
    if wrong:
        shown = ", ".join(repr(entry) for entry in wrong)
        return entries, (
            f"{WRITERS_ENV_VAR} has entries that are neither an e-mail address (name@example.org) "
            f"nor a whole domain (*@example.org): {shown}"
        )
    return entries, None


def _is_writer_entry(entry: str) -> bool:
    local, at, domain = entry.rpartition("@")
    if not at or not local or not domain or "@" in local or "*" in domain:
        return False
    return local == "*" or "*" not in local


def parse_read_only(text: str) -> tuple[bool, str | None]:
    """TIMELINE_READ_ONLY as a switch; a value that is neither on nor off reads as on, with a problem."""
    value = text.strip().lower()
    if value in _TRUE:
        return True, None
    if value in _FALSE:
        return False, None
    return True, f"{READ_ONLY_ENV_VAR} is {text!r}, neither 1 nor 0"


def sign_in_problem(auth: Mapping[str, object] | None) -> str | None:
    """Why st.login cannot sign anyone in with these [auth] secrets (default provider), or None."""
    if not auth:
        return NO_SIGN_IN
    provider = auth.get("default")
    provider = provider if isinstance(provider, Mapping) else auth
    missing = [key for key in SIGN_IN_SHARED_KEYS if not auth.get(key)]
    missing += [key for key in SIGN_IN_PROVIDER_KEYS if not provider.get(key)]
    if missing:
        return f"the [auth] secrets lack {', '.join(missing)}"
    return None


def listed(email: str, writers: tuple[str, ...]) -> bool:
    """Whether the writers list names this e-mail address, itself or by its domain (case-insensitive)."""
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return False
    return address in writers or f"*@{domain}" in writers


def may_write(user_email: str | None, settings: AccessSettings) -> bool:
    """Whether the user with this verified e-mail address (None: not signed in) may import and merge."""
    if settings.read_only or settings.problem:
        return False
    if not settings.writers:
        return True
    if settings.sign_in_problem or user_email is None:
        return False
    return listed(user_email, settings.writers)


def page_access(settings: AccessSettings, user: User | None) -> PageAccess:
    """What the page offers this user on this server, and the sentence that says why."""
    if settings.read_only:
        why = f" ({settings.problem})" if settings.problem else ""
        return PageAccess(False, f"This server is read-only: nothing can be imported here{why}.")
    if settings.problem:
        return PageAccess(False, f"Imports are closed: {settings.problem}.")
    if not settings.writers:
        who = f"You are signed in as {user.describe()}. " if user else ""
        return PageAccess(
            True,
            f"{who}Imports are open to anyone who can open this page (no writers configured).",
            offer_sign_out=user is not None,
        )
    if settings.sign_in_problem:
        return PageAccess(
            False,
            "Imports are closed: a writers list is set but sign-in is not configured "
            f"({settings.sign_in_problem}).",
        )
    if user is None:
        visitor = "Reading needs no sign-in; importing is for the writers of this server."
        return PageAccess(False, visitor, offer_sign_in=True)
    if may_write(user.verified_email, settings):
        return PageAccess(True, f"Signed in as {user.describe()}: you may import.", offer_sign_out=True)
    unverified = user.email is not None and not user.email_verified
    why = " (the sign-in provider did not verify your e-mail address)" if unverified else ""
    return PageAccess(
        False, f"Signed in as {user.describe()}: you may read but not import{why}.", offer_sign_out=True
    )


def page_author(user: User | None) -> store.Author:
    """Who a version saved from the page is recorded as: the signed-in user, else an anonymous visitor."""
    if user is None:
        return store.Author(name=ANONYMOUS, via="page")
    email = user.verified_email
    return store.Author(name=user.name or email or ANONYMOUS, email=email, via="page")
