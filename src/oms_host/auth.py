"""Users, roles, login sessions and API tokens of the host app.

Four roles, each allowed a fixed set of actions (:data:`PERMISSIONS`); a
request is checked against the action, never against the role's name, so a
new role is one line here. Passwords are hashed with Argon2id (argon2-cffi);
login sessions and API tokens are random secrets of which only a SHA-256 hash
is stored, so a stolen database holds no usable credential.

Log-ins are the one place an anonymous caller makes the server do expensive
work (an Argon2 hash: ~0.4 s of CPU and 64 MiB with argon2-cffi's default
profile), so :class:`LoginGuard` bounds it, with the limits stated once in
:class:`LoginLimits`: failures are counted per user name, per client address
and for the whole server; at most ``concurrent_hashes`` hashes run at once, on
threads of lower CPU priority, and a log-in that finds no free slot within
``hash_wait_seconds`` is refused (HTTP 429), as is one over a limit — before
any hashing. An unknown name costs the same hash as a known one (against a
dummy hash), so timing does not tell whether a name exists.

>>> can(Role.ORDER_DESK, Action.CAPTURE), can(Role.ORDER_DESK, Action.APPROVE)
(True, False)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import ipaddress
import math
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from oms_host.storage import Database
from oms_host.storage.schema import api_tokens, sessions, users

__all__ = ["APPROVAL_ROLES", "PERMISSIONS", "PRICING_ROLE", "Action", "LoginGuard", "LoginLimits", "LoginThrottled",
           "Role", "User", "Users", "can"]


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


#: Argon2id as OWASP's password storage guidance sets it (19 MiB, 2 passes, 1 lane): as strong as its
#: 46 MiB / 1 pass alternative, and small enough that two log-ins hashing at once cost the server under
#: 50 MB. Older hashes (argon2-cffi's 64 MiB default) still verify and are rehashed at their next log-in.
PASSWORD_HASHING: dict[str, Any] = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}


# -- log-in abuse -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoginLimits:
    """How hard log-ins may be tried, per server process (docs/host-app.md, "Security")."""

    window_seconds: float = 300.0         # a failed log-in counts against its name and address this long
    per_name: int = 5                     # failures per user name in the window
    per_address: int = 20                 # failures per client address (IPv6: per /64) in the window
    global_window_seconds: float = 60.0   # a failure counts against the whole server this long
    global_failures: int = 100            # failures from everyone in the global window
    concurrent_hashes: int = 1            # Argon2 hashes at once (19 MiB each with PASSWORD_HASHING): one core
    #                                       stays free for everything else on a 2-core server
    hash_wait_seconds: float = 1.0        # a log-in waits this long for a free hash slot, then gets 429
    hash_niceness: int = 10               # hashing threads yield the CPU to other requests (Linux nice value)
    tracked_keys: int = 10_000            # names and addresses remembered at most (the stalest forgotten first)


class LoginThrottled(RuntimeError):
    """A log-in refused before any password check (HTTP 429); ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1.0, retry_after)


def address_key(address: str) -> str:
    """The key a client address is counted under: an IPv6 client per /64 (one host's usual share).

    >>> address_key("2001:db8::1"), address_key("203.0.113.9"), address_key("testclient")
    ('2001:db8::/64', '203.0.113.9', 'testclient')
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


class _Failures:
    """Failure times per key within a window; at most ``max_keys`` keys, the least recently failed dropped."""

    def __init__(self, window: float, max_keys: int) -> None:
        self.window = window
        self.max_keys = max_keys
        self._times: dict[str, deque[float]] = {}

    def recent(self, key: str, now: float) -> deque[float]:
        times = self._times.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._times[key]
        return times

    def add(self, key: str, stamp: float) -> None:
        times = self._times.pop(key, None) or deque()
        times.append(stamp)
        self._times[key] = times  # the most recently failed key is last
        while len(self._times) > self.max_keys:
            del self._times[next(iter(self._times))]

    def remove(self, key: str, stamp: float) -> None:
        times = self._times.get(key)
        if times is not None and stamp in times:
            times.remove(stamp)
            if not times:
                del self._times[key]

    def clear(self, key: str) -> None:
        self._times.pop(key, None)


@dataclass(frozen=True)
class _Attempt:
    name: str
    address: str
    stamp: float


class LoginGuard:
    """Admission to a password check: the throttles and the hash slots of :class:`LoginLimits`.

    An admitted attempt counts as a failure at once (so concurrent attempts
    cannot overshoot a limit) and is taken back when it succeeds or never got a
    hash slot.
    """

    def __init__(self, limits: LoginLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or LoginLimits()
        self.clock = clock
        self._names = _Failures(self.limits.window_seconds, self.limits.tracked_keys)
        self._addresses = _Failures(self.limits.window_seconds, self.limits.tracked_keys)
        self._everyone = _Failures(self.limits.global_window_seconds, 1)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.limits.concurrent_hashes)
        self._executor: ThreadPoolExecutor | None = None

    def admit(self, username: str, address: str) -> _Attempt:
        """Count an attempt, or raise :class:`LoginThrottled` when a limit is reached (nothing counted)."""
        limits, address = self.limits, address_key(address)
        with self._lock:
            now = self.clock()
            checks = [(self._everyone, "*", limits.global_failures, limits.global_window_seconds,
                       "too many failed log-ins on this server just now"),
                      (self._addresses, address, limits.per_address, limits.window_seconds,
                       "too many failed log-ins from your address"),
                      (self._names, username, limits.per_name, limits.window_seconds,
                       "too many failed log-ins for this name")]
            for failures, key, limit, window, why in checks:
                recent = failures.recent(key, now)
                if len(recent) >= limit:
                    wait = window - (now - recent[0])
                    raise LoginThrottled(f"{why}; try again in {_duration(wait)}", wait)
            for failures, key in self._keys(username, address):
                failures.add(key, now)
        return _Attempt(username, address, now)

    def settle(self, attempt: _Attempt, succeeded: bool) -> None:
        """A failed attempt stays counted; a successful one is taken back and clears its name's failures."""
        if succeeded:
            with self._lock:
                self._forget(attempt)
                self._names.clear(attempt.name)

    def withdraw(self, attempt: _Attempt) -> None:
        """Take an attempt back: it never reached a password check."""
        with self._lock:
            self._forget(attempt)

    def _forget(self, attempt: _Attempt) -> None:
        for failures, key in self._keys(attempt.name, attempt.address):
            failures.remove(key, attempt.stamp)  # equal stamps are interchangeable

    def _keys(self, username: str, address: str) -> list[tuple[_Failures, str]]:
        return [(self._everyone, "*"), (self._addresses, address), (self._names, username)]

    # -- hash slots -------------------------------------------------------------------------------------
    def slot(self) -> bool:
        """Take a hash slot, waiting at most ``hash_wait_seconds``; False when none came free."""
        return self._slots.acquire(timeout=self.limits.hash_wait_seconds)

    async def slot_async(self) -> bool:
        """:meth:`slot` without holding a thread while waiting (polls every 10 ms)."""
        deadline = time.monotonic() + self.limits.hash_wait_seconds
        while not self._slots.acquire(blocking=False):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def release(self) -> None:
        self._slots.release()

    def executor(self) -> ThreadPoolExecutor:
        """The threads hashes run on: one per slot, at lower CPU priority (Argon2's own lane threads inherit it)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.limits.concurrent_hashes, thread_name_prefix="tarif-hash",
                                                    initializer=_lower_priority, initargs=(self.limits.hash_niceness,))
            return self._executor


def _lower_priority(niceness: int) -> None:
    if niceness > 0 and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):  # on Linux PRIO_PROCESS with a thread id sets that thread's nice value
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def _duration(seconds: float) -> str:
    return f"{math.ceil(seconds)} seconds" if seconds < 90 else f"{math.ceil(seconds / 60)} minutes"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Users:
    """User accounts, login sessions and API tokens in the database."""

    def __init__(self, db: Database, session_hours: int = 12, hasher: PasswordHasher | None = None,
                 limits: LoginLimits | None = None) -> None:
        self.db = db
        self.hasher = hasher or PasswordHasher(**PASSWORD_HASHING)
        self.session_hours = session_hours
        self.guard = LoginGuard(limits)
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

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

    def authenticate(self, username: str, password: str, address: str = "local") -> User | None:
        """The user, if the password is right; None otherwise.

        Raises :class:`LoginThrottled` when a limit of :class:`LoginLimits` is
        reached or no hash slot comes free in time. Blocks the calling thread
        while it waits; a server calls :meth:`authenticate_async`.
        """
        attempt = self.guard.admit(username, address)
        if not self.guard.slot():
            self.guard.withdraw(attempt)
            raise LoginThrottled("the server is busy checking other log-ins; try again in a moment", 1)
        try:
            user = self._check(username, password)
        finally:
            self.guard.release()
        self.guard.settle(attempt, user is not None)
        return user

    async def authenticate_async(self, username: str, password: str, address: str) -> User | None:
        """:meth:`authenticate` for an event loop: waits without a thread, hashes on the guard's threads."""
        attempt = self.guard.admit(username, address)
        if not await self.guard.slot_async():
            self.guard.withdraw(attempt)
            raise LoginThrottled("the server is busy checking other log-ins; try again in a moment", 1)
        try:
            future = self.guard.executor().submit(self._check, username, password)
            user = await asyncio.wrap_future(future)
        finally:
            self.guard.release()
        self.guard.settle(attempt, user is not None)
        return user

    def _check(self, username: str, password: str) -> User | None:
        """One Argon2 verification whatever happens: against the user's hash, or a dummy for an unknown name."""
        with self.db.read() as connection:
            row = connection.execute(sa.select(users).where(users.c.username == username,
                                                            users.c.active.is_(True))).first()
        try:
            self.hasher.verify(row.password_hash if row is not None else self._dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:  # pragma: no cover - the dummy's password is random and never told
            return None
        if self.hasher.check_needs_rehash(row.password_hash):  # stored with older parameters: bring it up to date
            with self.db.write() as connection:
                connection.execute(users.update().where(users.c.username == username)
                                   .values(password_hash=self.hasher.hash(password)))
        return User(row.username, row.display_name, Role(row.role), row.locale)

    def _dummy_hash(self) -> str:
        """A hash with the hasher's parameters of a password nobody knows: what an unknown name is checked against."""
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = self.hasher.hash(secrets.token_urlsafe(32))
            return self._dummy

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
