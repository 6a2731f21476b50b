"""Who may ask, what they may read, and how often: users, roles, collections, rate limits.

Three ways to log in (``RAG_APP__AUTH``):

* ``none``: no login. Meant for one person on their own machine. ``anonymous_user`` gives that
  person the administrator role only when the page listens on loopback (127.0.0.1/::1), so
  ``HOST=0.0.0.0`` without a login never hands the audit log to the whole network.
* ``local``: a JSON user list with bcrypt hashes (``RAG_APP__USERS_FILE``), managed with
  ``python -m assistant.access add-user NAME --role beheerder --collections algemeen,hr``.
* ``oidc``: Streamlit's ``st.login`` against the organisation's identity provider; roles and
  collections come from a claim, mapped by ``data/oidc_roles.json`` (``oidc_user``).

Roles: ``gebruiker`` asks questions; ``beheerder`` may also manage documents, users and read
the audit log (``can_manage``). Collections (``Chunk.collection``) are the access groups of
documents: a user's ``collections`` are passed to ``Assistant.ask`` and enforced inside
retrieval (both dense and keyword search filter on them), so a passage a user may not read
never reaches the model, the answer or the audit log. ``None`` means all collections.

Trade-offs, stated plainly:

* bcrypt (cost 12, ~0.25 s per check) makes guessing slow but also makes every login cost CPU
  the model would like to have; logins are rare next to questions, so that is fine. bcrypt
  reads at most 72 bytes; longer passwords are refused when set instead of silently truncated.
* ``verify`` takes the same time for an unknown user as for a wrong password (it checks
  against a dummy hash), so the login form does not reveal which names exist.
* The user file is re-read when it changes on disk, so ``add-user`` works without a restart;
  it is small (people, not documents) and read under a lock.
* The rate limiter lives in the process: with several replicas behind a load balancer each one
  counts on its own (a user could ask N× the limit). A shared store (Redis) would fix that; for
  one machine with one model it is not worth another service.
* Question length is checked by ``Assistant.ask`` (``RAG_APP__MAX_QUESTION_CHARS``), the one
  place every caller passes through; this module does not duplicate it.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import json
import logging
import math
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import bcrypt

from assistant.errors import AssistantError

log = logging.getLogger(__name__)

Role = Literal["gebruiker", "beheerder"]
ROLES: tuple[Role, ...] = ("gebruiker", "beheerder")
ALL = "*"  # in files and on the command line: every collection
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
COLLECTION_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_BYTES = 72  # bcrypt's limit; bcrypt 5 raises beyond it
BCRYPT_ROUNDS = 12


@lru_cache(maxsize=1)
def _dummy_hash() -> bytes:
    """Hash of a random throwaway password, same cost as real ones: ``verify`` checks unknown
    names against it so that "no such user" and "wrong password" take the same time."""
    return bcrypt.hashpw(os.urandom(16).hex().encode(), bcrypt.gensalt(BCRYPT_ROUNDS))


@dataclass(frozen=True, eq=False)
class User:
    """A logged-in person. ``collections=None`` means every collection."""

    name: str
    role: Role = "gebruiker"
    collections: set[str] | None = None

    def can_read(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    def ask_collections(self) -> set[str] | None:
        """What to pass to ``Assistant.ask(collections=...)``: a copy, None = all.

        Raises a Dutch ``AssistantError`` for a user with no collections at all: an empty
        filter means "nothing", and Chroma rejects an empty ``$in`` list with a ValueError.
        """
        if self.collections is None:
            return None
        if not self.collections:
            raise AssistantError(
                "U heeft nog geen toegang tot documenten. Vraag een beheerder om u toegang "
                "te geven tot een of meer collecties."
            )
        return set(self.collections)


def can_manage(user: User | None) -> bool:
    """May this user manage documents and users and read the audit log?"""
    return user is not None and user.role == "beheerder"


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    if address in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def anonymous_user(server_address: str | None) -> User:
    """The user when ``RAG_APP__AUTH=none``.

    Pass ``st.get_option("server.address")``. On loopback only this machine can reach the page,
    so its one user may manage; on any other address nobody may (turn a login on instead).
    """
    role: Role = "beheerder" if _is_loopback(server_address) else "gebruiker"
    return User("lokaal", role, None)


# ---------------------------------------------------------------------------------------------
# Local users (bcrypt)


def parse_collections(value: str | Iterable[str] | None) -> set[str] | None:
    """``"algemeen,hr"`` / ``["algemeen", "hr"]`` → a set; ``"*"``/``None`` → None (all)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = {str(i).strip() for i in items if str(i).strip()}
    if ALL in names:
        return None
    bad = sorted(n for n in names if not COLLECTION_RE.match(n))
    if bad:
        raise AssistantError(
            f"Ongeldige collectienaam: {', '.join(bad)}. Gebruik kleine letters, cijfers, - en _."
        )
    return names


def _collections_to_json(collections: set[str] | None) -> list[str] | str:
    return ALL if collections is None else sorted(collections)


def _check_new_password(password: str) -> bytes:
    raw = password.encode("utf-8")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AssistantError(f"Het wachtwoord moet minstens {MIN_PASSWORD_CHARS} tekens hebben.")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise AssistantError(
            f"Het wachtwoord is te lang (maximaal {MAX_PASSWORD_BYTES} bytes; "
            "letters met accenten tellen dubbel)."
        )
    return raw


class UserStore:
    """The local user list in a JSON file:

    ``{"users": {"name": {"hash": "$2b$...", "role": "gebruiker", "collections": ["algemeen"]}}}``
    (``"collections": "*"`` = all). Written atomically, owner-only (it holds password hashes).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: tuple[float, int, dict[str, dict[str, Any]]] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> UserStore:
        app = getattr(settings, "app", settings)
        return cls(app.users_file)

    # -- file -----------------------------------------------------------------------------
    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        cached = self._cache
        if cached is not None and cached[:2] == (st.st_mtime, st.st_size):
            return cached[2]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            users = dict(data.get("users", {}))
        except (OSError, ValueError, AttributeError) as exc:
            raise AssistantError(
                "De gebruikerslijst is onleesbaar.",
                hint=f"controleer {self.path} (JSON met een sleutel 'users')",
            ) from exc
        self._cache = (st.st_mtime, st.st_size, users)
        return users

    def _write(self, users: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + ".part")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"users": users}, fh, ensure_ascii=False, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._cache = None

    # -- API ------------------------------------------------------------------------------
    def users(self) -> list[User]:
        with self._lock:
            entries = self._read()
        return [_to_user(name, e) for name, e in sorted(entries.items())]

    def get(self, name: str) -> User | None:
        with self._lock:
            entry = self._read().get(name)
        return _to_user(name, entry) if entry else None

    def add_user(
        self,
        name: str,
        password: str,
        role: Role = "gebruiker",
        collections: set[str] | None = None,
        *,
        replace: bool = False,
    ) -> User:
        """Add a user (or, with ``replace``, reset an existing one). Never logs the password."""
        if not NAME_RE.match(name):
            raise AssistantError(
                "Ongeldige gebruikersnaam: gebruik letters, cijfers en . _ @ - (maximaal 64)."
            )
        if role not in ROLES:
            raise AssistantError(f"Onbekende rol '{role}'; kies uit: {', '.join(ROLES)}.")
        raw = _check_new_password(password)
        hashed = bcrypt.hashpw(raw, bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")
        with self._lock:
            users = dict(self._read())
            if name in users and not replace:
                raise AssistantError(f"Gebruiker '{name}' bestaat al.")
            users[name] = {
                "hash": hashed,
                "role": role,
                "collections": _collections_to_json(collections),
            }
            self._write(users)
        log.info("user %s saved (role %s)", name, role)
        return User(name, role, None if collections is None else set(collections))

    def remove_user(self, name: str) -> bool:
        with self._lock:
            users = dict(self._read())
            if users.pop(name, None) is None:
                return False
            self._write(users)
        return True

    def verify(self, name: str, password: str) -> User | None:
        """The user when ``password`` is right, else None; same cost for unknown names."""
        with self._lock:
            entry = self._read().get(name)
        raw = password.encode("utf-8")
        stored = (entry or {}).get("hash", "").encode("ascii", "replace") or _dummy_hash()
        if len(raw) > MAX_PASSWORD_BYTES:  # cannot be right (never accepted when set)
            raw, entry = raw[:MAX_PASSWORD_BYTES], None
        try:
            ok = bcrypt.checkpw(raw, stored)
        except ValueError:  # a damaged hash in the file: treat as a wrong password
            log.warning("user %s has an unreadable password hash", name)
            bcrypt.checkpw(raw, _dummy_hash())
            ok = False
        # bcrypt.checkpw compares in constant time; the branch below only reveals the outcome
        if not ok or entry is None:
            return None
        return _to_user(name, entry)


def _to_user(name: str, entry: Mapping[str, Any]) -> User:
    role = entry.get("role", "gebruiker")
    if role not in ROLES:
        role = "gebruiker"  # an unknown role in the file gets the least rights
    return User(name, role, parse_collections(entry.get("collections", ALL)))


# ---------------------------------------------------------------------------------------------
# Rate limiting


class RateLimiter:
    """At most ``per_minute`` questions per user in any 60-second window (sliding window).

    Only questions that pass are counted, so being told to wait does not extend the wait.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._checks = 0

    @staticmethod
    def _key(user: User | str) -> str:
        return user.name if isinstance(user, User) else str(user)

    def check(self, user: User | str) -> None:
        """Count one question for ``user``, or raise a polite Dutch ``AssistantError``."""
        key = self._key(user)
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window_s:
                hits.popleft()
            if len(hits) >= self.per_minute:
                wait = max(1, math.ceil(self.window_s - (now - hits[0])))
                raise AssistantError(
                    f"U heeft de afgelopen minuut al {self.per_minute} "
                    f"{'vraag' if self.per_minute == 1 else 'vragen'} gesteld. "
                    f"Wacht nog {wait} {'seconde' if wait == 1 else 'seconden'} en stel uw "
                    "vraag dan opnieuw."
                )
            hits.append(now)
            self._checks += 1
            if self._checks % 1000 == 0:  # forget idle users now and then
                self._prune(now)

    def remaining(self, user: User | str) -> int:
        key = self._key(user)
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key, deque())
            return self.per_minute - sum(1 for t in hits if now - t < self.window_s)

    def _prune(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self.window_s]:
            del self._hits[key]


# ---------------------------------------------------------------------------------------------
# OIDC (st.login)

DEFAULT_OIDC_MAPPING: dict[str, Any] = {
    "roles_claim": "roles",
    "default_role": "gebruiker",
    "default_collections": ["algemeen"],
    "roles": {},
    "users": {},
    "allowed_domains": [],
}

_mapping_cache: dict[Path, tuple[float, dict[str, Any]]] = {}
_mapping_lock = threading.Lock()


def load_oidc_mapping(path: Path | str) -> dict[str, Any]:
    """The role mapping file, merged over the defaults; re-read when it changes.

    Format (all keys optional)::

        {
          "roles_claim": "roles",              # claim with the user's groups; dotted path ok
          "default_role": "gebruiker",         # for a user none of whose groups is mapped
          "default_collections": ["algemeen"],
          "roles": {                           # group/role value from the claim -> rights
            "rag-beheer": {"role": "beheerder", "collections": "*"},
            "hr":         {"role": "gebruiker", "collections": ["algemeen", "hr"]}
          },
          "users": {"a.jansen@org.nl": {"role": "beheerder", "collections": "*"}},
          "allowed_domains": ["org.nl"]        # empty: any account the provider accepts
        }
    """
    p = Path(path)
    with _mapping_lock:
        try:
            mtime = p.stat().st_mtime
        except FileNotFoundError:
            return dict(DEFAULT_OIDC_MAPPING)
        cached = _mapping_cache.get(p)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AssistantError(
                "De rollentabel voor inloggen is onleesbaar.", hint=f"controleer {p}"
            ) from exc
        mapping = {**DEFAULT_OIDC_MAPPING, **data}
        _mapping_cache[p] = (mtime, mapping)
        return mapping


def _claim(info: Mapping[str, Any], dotted: str) -> Any:
    value: Any = info
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return [str(value)]


def _user_info(st_user: Any) -> dict[str, Any]:
    if hasattr(st_user, "to_dict"):
        return dict(st_user.to_dict())
    return dict(st_user)


def oidc_user(st_user: Any, mapping_file: Path | str | None = None) -> User:
    """Map Streamlit's ``st.user`` (after ``st.login``) to a ``User``.

    Name: the e-mail address (else ``preferred_username``, else ``sub``). Rights: the union of
    what the user's groups in ``roles_claim`` map to, overridden per e-mail address by
    ``users``; a user with no mapped group gets ``default_role``/``default_collections``.
    Raises ``AssistantError`` when nobody is logged in or the domain is not allowed.
    """
    from assistant.settings import PROJECT_ROOT

    info = _user_info(st_user)
    if not info.get("is_logged_in", bool(info.get("email") or info.get("sub"))):
        raise AssistantError("U bent niet ingelogd.")
    mapping = load_oidc_mapping(mapping_file or PROJECT_ROOT / "data" / "oidc_roles.json")
    email = str(info.get("email") or "").strip().lower()
    name = email or str(info.get("preferred_username") or info.get("sub") or "").strip()
    if not name:
        raise AssistantError("Uw account geeft geen e-mailadres of gebruikersnaam door.")
    domains = [d.lower().lstrip("@") for d in _as_list(mapping.get("allowed_domains"))]
    if domains and email.rpartition("@")[2] not in domains:
        raise AssistantError("Dit account heeft geen toegang tot de onderzoeksassistent.")

    override = {k.lower(): v for k, v in mapping.get("users", {}).items()}.get(email)
    if override is not None:
        return _to_user(name, override)

    groups = _as_list(_claim(info, str(mapping.get("roles_claim", "roles"))))
    matched = [mapping["roles"][g] for g in groups if g in mapping.get("roles", {})]
    if not matched:
        return _to_user(
            name,
            {
                "role": mapping.get("default_role", "gebruiker"),
                "collections": mapping.get("default_collections", ["algemeen"]),
            },
        )
    role: Role = "beheerder" if any(m.get("role") == "beheerder" for m in matched) else "gebruiker"
    collections: set[str] = set()
    for m in matched:
        c = parse_collections(m.get("collections", ALL))
        if c is None:  # one matched role may read everything
            return User(name, role, None)
        collections |= c
    return User(name, role, collections)


# ---------------------------------------------------------------------------------------------
# Command line


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Wachtwoord: ")
    if getpass.getpass("Nogmaals: ") != first:
        raise AssistantError("De wachtwoorden zijn niet gelijk.")
    return first


def _users_file(args: argparse.Namespace) -> Path:
    if args.users_file:
        return Path(args.users_file)
    from assistant.settings import load_settings

    return load_settings().app.users_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.access",
        description="Lokale gebruikers (auth=local) en API-tokens beheren.",
    )
    parser.add_argument("--users-file", help="default: RAG_APP__USERS_FILE (data/users.json)")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add-user", help="gebruiker toevoegen (of met --replace vervangen)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="gebruiker")
    add.add_argument(
        "--collections",
        default=None,
        help="kommagescheiden, of '*' voor alles (standaard: algemeen; beheerder: *)",
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="lees het wachtwoord van de eerste regel van stdin",
    )
    add.add_argument("--replace", action="store_true", help="bestaande gebruiker overschrijven")
    rm = sub.add_parser("remove-user", help="gebruiker verwijderen")
    rm.add_argument("name")
    sub.add_parser("list-users", help="gebruikers tonen (zonder hashes)")
    from assistant.apikeys import add_token_parser, run_token_command

    add_token_parser(sub)  # API tokens for applications (assistant/apikeys.py)
    args = parser.parse_args(argv)
    if args.command == "token":
        return run_token_command(args)
    try:
        store = UserStore(_users_file(args))
        if args.command == "add-user":
            default = ALL if args.role == "beheerder" else "algemeen"
            collections = parse_collections(args.collections or default)
            user = store.add_user(
                args.name, _read_password(args), args.role, collections, replace=args.replace
            )
            shown = ALL if user.collections is None else ",".join(sorted(user.collections))
            print(
                f"Gebruiker {user.name} opgeslagen ({user.role}; collecties: {shown}) "
                f"in {store.path}"
            )
        elif args.command == "remove-user":
            if not store.remove_user(args.name):
                print(f"Gebruiker {args.name} bestaat niet.", file=sys.stderr)
                return 1
            print(f"Gebruiker {args.name} verwijderd.")
        else:
            for u in store.users():
                shown = ALL if u.collections is None else ",".join(sorted(u.collections))
                print(f"{u.name}\t{u.role}\t{shown}")
    except AssistantError as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
