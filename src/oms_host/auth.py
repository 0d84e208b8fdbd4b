"""Users, roles, login sessions and API tokens of the host app.

Four roles, each allowed a fixed set of actions (:data:`PERMISSIONS`); a
request is checked against the action, never against the role's name, so a
new role is one line here. Passwords are hashed with Argon2id (argon2-cffi);
login sessions and API tokens are random secrets of which only a SHA-256 hash
is stored, so a stolen database holds no usable credential.

>>> can(Role.ORDER_DESK, Action.CAPTURE), can(Role.ORDER_DESK, Action.APPROVE)
(True, False)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from oms_host.storage import Database
from oms_host.storage.schema import api_tokens, sessions, users

__all__ = ["APPROVAL_ROLES", "PERMISSIONS", "PRICING_ROLE", "Action", "Role", "User", "Users", "can"]


class Role(StrEnum):
    ORDER_DESK = "order_desk"
    APPROVER = "approver"
    PRICING_ADMIN = "pricing_admin"
    READ_ONLY = "read_only"
    INTEGRATION = "integration"  # warehouses, carriers, banks, payment providers: they report what happened


class Action(StrEnum):
    VIEW = "view"              # orders, customers, reports, quotes, availability
    CAPTURE = "capture"        # enter, revise, cancel orders; configure products
    IMPORT = "import"          # batch imports from other systems
    APPROVE = "approve"        # approve or reject discounts, release holds
    ADMIN_PRICING = "admin_pricing"  # reload rulesets, stock levels
    REPORT = "report"          # outside-world events: shipped, delivered, funds received — never the desk


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ORDER_DESK: frozenset({Action.VIEW, Action.CAPTURE, Action.IMPORT}),
    Role.APPROVER: frozenset({Action.VIEW, Action.APPROVE}),
    Role.PRICING_ADMIN: frozenset({Action.VIEW, Action.ADMIN_PRICING}),
    Role.READ_ONLY: frozenset({Action.VIEW}),
    Role.INTEGRATION: frozenset({Action.VIEW, Action.IMPORT, Action.REPORT}),
}

#: The pricing engine's manual-adjustment role a desk user's discounts are entered under.
PRICING_ROLE = {Role.ORDER_DESK: "sales_rep", Role.APPROVER: "sales_director",
                Role.PRICING_ADMIN: "sales_director", Role.READ_ONLY: "store_associate",
                Role.INTEGRATION: "store_associate"}

#: The approval roles (named by pricing and by ``approvals`` event rules) each host role acts in.
APPROVAL_ROLES: dict[Role, frozenset[str]] = {
    role: frozenset({role.value, PRICING_ROLE[role]}) if Action.APPROVE in PERMISSIONS[role] else frozenset()
    for role in Role}


def can(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: Role
    locale: str = "en"
    via_token: bool = False

    @property
    def actor(self) -> str:
        """How the user appears in order histories."""
        return f"token:{self.username}" if self.via_token else self.username

    def can(self, action: Action) -> bool:
        return can(self.role, action)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Users:
    """User accounts, login sessions and API tokens in the database."""

    def __init__(self, db: Database, session_hours: int = 12, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.hasher = hasher or PasswordHasher()  # Argon2id with argon2-cffi's RFC 9106 low-memory profile
        self.session_hours = session_hours
        self.max_failures = 5          # failed log-ins per name within ``lockout_seconds`` before a pause
        self.lockout_seconds = 300.0
        self._failures: dict[str, list[float]] = {}
        self._failures_lock = threading.Lock()

    def add(self, username: str, password: str, role: Role, display_name: str | None = None,
            locale: str = "en") -> User:
        shown = display_name or username
        row = {"username": username, "display_name": shown, "role": Role(role).value,
               "password_hash": self.hasher.hash(password), "locale": locale, "active": True}
        with self.db.write() as connection:
            connection.execute(users.delete().where(users.c.username == username))
            connection.execute(users.insert().values(**row))
        return User(username, shown, Role(role), locale)

    def disable(self, username: str) -> bool:
        """Lock a user out (their sessions end); False when there is no such user."""
        with self.db.write() as connection:
            done = connection.execute(users.update().where(users.c.username == username).values(active=False))
            connection.execute(sessions.delete().where(sessions.c.username == username))
        return done.rowcount == 1

    def get(self, username: str) -> User | None:
        with self.db.read() as connection:
            row = connection.execute(sa.select(users).where(users.c.username == username,
                                                            users.c.active.is_(True))).first()
        return User(row.username, row.display_name, Role(row.role), row.locale) if row else None

    def all(self) -> list[User]:
        with self.db.read() as connection:
            rows = connection.execute(sa.select(users).order_by(users.c.username)).all()
        return [User(r.username, r.display_name, Role(r.role), r.locale) for r in rows]

    def locked_out(self, username: str, now: float | None = None) -> bool:
        """Whether ``username`` failed too often lately (this process's count; a brake on guessing)."""
        now = time.monotonic() if now is None else now
        with self._failures_lock:
            recent = [t for t in self._failures.get(username, []) if now - t < self.lockout_seconds]
            self._failures[username] = recent
            return len(recent) >= self.max_failures

    def authenticate(self, username: str, password: str) -> User | None:
        """The user, if the password is right and the name is not locked out after repeated failures."""
        if self.locked_out(username):
            return None
        user = self._check(username, password)
        with self._failures_lock:
            if user is None:
                self._failures.setdefault(username, []).append(time.monotonic())
            else:
                self._failures.pop(username, None)
        return user

    def _check(self, username: str, password: str) -> User | None:
        with self.db.read() as connection:
            row = connection.execute(sa.select(users).where(users.c.username == username,
                                                            users.c.active.is_(True))).first()
        if row is None:
            self.hasher.hash(password)  # same work whether or not the user exists
            return None
        try:
            self.hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(row.username, row.display_name, Role(row.role), row.locale)

    # -- login sessions -----------------------------------------------------------------------------
    def open_session(self, user: User, now: dt.datetime) -> str:
        token = secrets.token_urlsafe(32)
        with self.db.write() as connection:
            connection.execute(sessions.delete().where(sessions.c.expires_at < now))
            connection.execute(sessions.insert().values(
                token_hash=_digest(token), username=user.username, created_at=now,
                expires_at=now + dt.timedelta(hours=self.session_hours)))
        return token

    def close_session(self, token: str) -> None:
        with self.db.write() as connection:
            connection.execute(sessions.delete().where(sessions.c.token_hash == _digest(token)))

    # -- API tokens (system to system) --------------------------------------------------------------
    def issue_token(self, name: str, role: Role, now: dt.datetime, token: str | None = None) -> str:
        token = token or "tarif_" + secrets.token_urlsafe(32)
        with self.db.write() as connection:
            connection.execute(api_tokens.delete().where(api_tokens.c.token_hash == _digest(token)))
            connection.execute(api_tokens.insert().values(token_hash=_digest(token), name=name,
                                                          role=Role(role).value, created_at=now, revoked=False))
        return token

    def revoke_token(self, token: str) -> None:
        with self.db.write() as connection:
            connection.execute(api_tokens.update().where(api_tokens.c.token_hash == _digest(token))
                               .values(revoked=True))

    def by_token(self, token: str, now: dt.datetime) -> User | None:
        """The user of a login session or an API token, or None."""
        digest = _digest(token)
        with self.db.read() as connection:
            row = connection.execute(
                sa.select(users).join(sessions, sessions.c.username == users.c.username)
                .where(sessions.c.token_hash == digest, sessions.c.expires_at > now, users.c.active.is_(True))
            ).first()
            if row is not None:
                return User(row.username, row.display_name, Role(row.role), row.locale)
            api = connection.execute(sa.select(api_tokens).where(api_tokens.c.token_hash == digest,
                                                                 api_tokens.c.revoked.is_(False))).first()
        if api is None:
            return None
        return User(api.name, api.name, Role(api.role), "en", via_token=True)
