"""Who may ask, what they may read, and how often: users, roles, collections, rate limits.

Three ways to log in (``RAG_APP__AUTH``):

* ``none``: no login. Meant for one person on their own machine. Closed by default
  (``anonymous_user``): only a browser on loopback, on a page that listens on loopback, and
  without proxy headers (``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP`` ...) is the local
  beheerder; anyone else gets no access and a Dutch message naming ``RAG_APP__AUTH``. ``make
  run`` refuses ``HOST`` other than loopback without a login (``bind_refusal``).
* ``local``: a JSON user list with bcrypt hashes (``RAG_APP__USERS_FILE``), managed with
  ``python -m assistant.access add-user NAME --role beheerder --collections algemeen,hr``.
* ``oidc``: Streamlit's ``st.login`` against the organisation's identity provider; roles and
  collections come from a claim, mapped by ``data/oidc_roles.json`` (``oidc_user``).

Roles: ``gebruiker`` asks questions; ``beheerder`` may also manage documents and read the
audit log and feedback of questions asked within their own collections (``can_manage``,
``can_read_scope``; uploads only into ``writable_collections``); ``auditor`` reads every
audit and feedback record and manages nothing (``can_audit``). Closed by default everywhere:
an entry or OIDC role without ``collections`` reads none.

Collections (``Chunk.collection``) are the access groups of documents: a user's
``collections`` are passed to ``Assistant.ask`` and enforced inside retrieval (both dense and
keyword search filter on them), so a passage a user may not read never reaches the model, the
answer or the audit log. ``None`` means all collections.

Trade-offs, stated plainly:

* bcrypt (cost 12, ~0.25 s per check) makes guessing slow but also makes every login cost CPU
  the model would like to have; logins are rare next to questions, so that is fine. bcrypt
  reads at most 72 bytes; longer passwords are refused when set instead of silently truncated.
* ``verify`` takes the same time for an unknown user as for a wrong password (it checks
  against a dummy hash), so the login form does not reveal which names exist.
* The user file is re-read when it changes on disk, so ``add-user`` works without a restart;
  it is small (people, not documents) and read under a lock.
* How often (rate limits, login throttle) lives in ``assistant.limits``.
* Question length is checked by ``Assistant.ask`` (``RAG_APP__MAX_QUESTION_CHARS``), the one
  place every caller passes through; this module does not duplicate it.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import bcrypt

from assistant.errors import AssistantError
from assistant.files import write_private_json

log = logging.getLogger(__name__)

Role = Literal["gebruiker", "beheerder", "auditor"]
ROLES: tuple[Role, ...] = ("gebruiker", "beheerder", "auditor")
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
    """May this user manage documents and read the audit log of their collections?"""
    return user is not None and user.role == "beheerder"


def can_audit(user: User | None) -> bool:
    """May this user open the audit log and the feedback (beheerder: own collections only;
    auditor: everything, and nothing else of Beheer)?"""
    return user is not None and user.role in ("beheerder", "auditor")


def writable_collections(user: User, known: Iterable[str] = ()) -> list[str]:
    """The collections ``user`` may upload into: a beheerder's own (all known ones, and
    "algemeen", for a beheerder of all collections); nobody else's."""
    if not can_manage(user):
        return []
    if user.collections is None:
        return sorted(set(known) | {"algemeen"})
    return sorted(user.collections)


def can_read_scope(user: User, scope: Iterable[str] | None) -> bool:
    """May ``user`` read an audit or feedback record of a question asked within ``scope``
    (the asker's collections; None = all)?

    The auditor reads everything. A beheerder reads a record only when every collection the
    asker could read is one of theirs: the answer can only quote those, and the question
    itself says what the asker looked for there. A beheerder of all collections reads all.
    """
    if user.role == "auditor" or (user.role == "beheerder" and user.collections is None):
        return True
    if user.role != "beheerder" or scope is None:
        return False
    scope = set(scope)
    return bool(scope) and scope <= (user.collections or set())


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    if address in ("localhost", "localhost.localdomain"):
        return True
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
    return ip.is_loopback or bool(mapped is not None and mapped.is_loopback)


# Headers a reverse proxy adds: a request that carries one came from somewhere else, even
# though the connection itself is from 127.0.0.1 (the proxy on this machine).
PROXY_HEADERS = frozenset(
    {"x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host", "x-forwarded-proto", "via"}
)
NEEDS_LOGIN = (
    "Zonder login is deze pagina alleen te gebruiken in een browser op deze machine zelf. "
    "Voor toegang via het netwerk of een proxy zet de beheerder RAG_APP__AUTH=local of "
    "RAG_APP__AUTH=oidc."
)


@dataclass(frozen=True)
class Client:
    """The browser connection of a session: its address and the request headers."""

    address: str | None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def proxied(self) -> bool:
        return any(name.lower() in PROXY_HEADERS for name, _ in self.headers)


def anonymous_user(server_address: str | None, client: Client | None) -> User:
    """The user when ``RAG_APP__AUTH=none``: the local beheerder, or no access at all.

    Closed by default: only when the page listens on loopback and this browser connects from
    loopback without proxy headers is it the person at this machine (the laptop demo). A
    request through a reverse proxy on the same machine, or from any other address, gets an
    ``AssistantError`` naming ``RAG_APP__AUTH``. ``client=None`` means no server serves the
    script (``AppTest``, bare mode): there is no network to reach it through.
    """
    if not _is_loopback(server_address):
        raise AssistantError(NEEDS_LOGIN, hint="de pagina luistert op het netwerk")
    if client is not None and (client.proxied or not _is_loopback(client.address)):
        raise AssistantError(NEEDS_LOGIN)
    return User("lokaal", "beheerder", None)


def bind_refusal(host: str, auth: str) -> str:
    """Why the page may not start on ``host`` with login ``auth`` ("" when it may)."""
    if auth == "none" and not _is_loopback(host):
        return (
            f"Weigering: HOST={host} maakt de pagina bereikbaar vanaf het netwerk, maar er is "
            "geen login ingesteld. Zet RAG_APP__AUTH=local (of oidc), of start op "
            "HOST=127.0.0.1."
        )
    return ""


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
        write_private_json(self.path, {"users": users})
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
    # closed by default: an entry without "collections" reads nothing ("*" must be explicit)
    return User(name, role, parse_collections(entry.get("collections", [])))


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
    if email and info.get("email_verified") not in (True, "true", "True"):
        # the address decides the name, the domain check and per-address rights: an
        # unverified one could be anybody's (many providers let users type it)
        raise AssistantError(
            "Uw e-mailadres is bij de identity provider niet bevestigd; daarom is er geen "
            "toegang. Bevestig het adres en log opnieuw in."
        )
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
        c = parse_collections(m.get("collections", []))  # no "collections": none, not all
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
    check = sub.add_parser("check-host", help="weigert een netwerkadres zonder login")
    check.add_argument("host")
    from assistant.apikeys import add_token_parser, run_token_command

    add_token_parser(sub)  # API tokens for applications (assistant/apikeys.py)
    args = parser.parse_args(argv)
    if args.command == "check-host":
        return _check_host(args.host)
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


def _check_host(host: str) -> int:
    from assistant.settings import load_settings

    refusal = bind_refusal(host, load_settings().app.auth)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
