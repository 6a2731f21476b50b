"""API tokens: one bearer token per client application, mapped to a role and its collections.

``python -m assistant.access token create intranet-widget --collections algemeen`` prints a
new token once; the file keeps only its SHA-256 (``<data_dir>/api_tokens.json``, owner-only,
written atomically). ``token list`` shows names and rights, ``token revoke NAME`` ends one;
the API re-reads the file when it changes, so neither needs a restart.

Trade-offs, stated plainly:

* **SHA-256, not bcrypt.** A token is 32 random bytes (256 bits), not a password a person
  chose: nobody can guess it from its hash, so a slow hash would only cost every API call
  ~0.25 s of CPU the model wants. Lookup compares the hash against every entry in constant
  time (a handful of applications, not thousands).
* **The principal is the application** (``api:<name>``): its rate limit, its audit records.
  An end-user id a client sends along (OpenAI's ``user`` field) is recorded in the audit log
  next to it, but it is the client's claim, not a login.
* The token is shown once and cannot be recovered; a lost token is revoked and replaced.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

from assistant.access import ALL, NAME_RE, ROLES, Role, User, parse_collections
from assistant.errors import AssistantError
from assistant.files import write_private_json

FILENAME = "api_tokens.json"
PREFIX = "rag_"  # recognisable in logs and secret scanners
PRINCIPAL_PREFIX = "api:"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """``{"tokens": {"name": {"sha256": ..., "role": ..., "collections": [...]|"*",
    "rate_limit": int|null, "created": "...", "hint": "rag_abcd…"}}}``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: tuple[float, int, dict[str, dict[str, Any]]] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> TokenStore:
        app = getattr(settings, "app", settings)
        return cls(Path(app.data_dir) / FILENAME)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        if self._cache is not None and self._cache[:2] == (st.st_mtime, st.st_size):
            return self._cache[2]
        try:
            tokens = dict(json.loads(self.path.read_text(encoding="utf-8")).get("tokens", {}))
        except (OSError, ValueError, AttributeError) as exc:
            raise AssistantError(
                "Het bestand met API-tokens is onleesbaar.", hint=f"controleer {self.path}"
            ) from exc
        self._cache = (st.st_mtime, st.st_size, tokens)
        return tokens

    def _write(self, tokens: dict[str, dict[str, Any]]) -> None:
        write_private_json(self.path, {"tokens": tokens})
        self._cache = None

    def create(
        self,
        name: str,
        role: Role = "gebruiker",
        collections: set[str] | None = None,
        rate_limit: int | None = None,
    ) -> str:
        """Store a new token for application ``name``; returns the token (shown only now)."""
        if not NAME_RE.match(name):
            raise AssistantError(
                "Ongeldige naam: gebruik letters, cijfers en . _ @ - (maximaal 64)."
            )
        if role not in ROLES:
            raise AssistantError(f"Onbekende rol '{role}'; kies uit: {', '.join(ROLES)}.")
        if rate_limit is not None and not 1 <= rate_limit <= 10000:
            raise AssistantError("De limiet moet tussen 1 en 10000 vragen per minuut liggen.")
        token = PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            tokens = dict(self._read())
            if name in tokens:
                raise AssistantError(f"Er is al een token '{name}'; trek het eerst in (revoke).")
            tokens[name] = {
                "sha256": _digest(token),
                "role": role,
                "collections": ALL if collections is None else sorted(collections),
                "rate_limit": rate_limit,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "hint": token[: len(PREFIX) + 4] + "…",
            }
            self._write(tokens)
        return token

    def revoke(self, name: str) -> bool:
        with self._lock:
            tokens = dict(self._read())
            if tokens.pop(name, None) is None:
                return False
            self._write(tokens)
        return True

    def entries(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._read().items()}

    def verify(self, token: str) -> tuple[User, int | None] | None:
        """The application's principal and its own rate limit (None: the default)."""
        if not token.startswith(PREFIX):
            return None
        digest = _digest(token)
        with self._lock:
            entries = list(self._read().items())
        found = None
        for name, entry in entries:  # no early exit: same time whichever entry matches
            if hmac.compare_digest(str(entry.get("sha256", "")), digest):
                found = (name, entry)
        if found is None:
            return None
        name, entry = found
        role: Role = entry["role"] if entry.get("role") in ROLES else "gebruiker"
        user = User(PRINCIPAL_PREFIX + name, role, parse_collections(entry.get("collections")))
        limit = entry.get("rate_limit")
        return user, int(limit) if limit else None


# --------------------------------------------------------------------------- command line


def add_token_parser(sub: Any) -> None:
    """The ``token`` subcommand of ``python -m assistant.access``."""
    tok = sub.add_parser("token", help="API-tokens voor toepassingen beheren")
    tsub = tok.add_subparsers(dest="token_command", required=True)
    create = tsub.add_parser("create", help="nieuw token (wordt één keer getoond)")
    create.add_argument("name", help="naam van de toepassing, bv. intranet-widget")
    create.add_argument("--role", choices=ROLES, default="gebruiker")
    create.add_argument(
        "--collections", default="algemeen", help="kommagescheiden, of '*' voor alles"
    )
    create.add_argument(
        "--rate-limit", type=int, default=None, help="vragen per minuut (standaard: als de pagina)"
    )
    tsub.add_parser("list", help="tokens tonen (zonder geheimen)")
    revoke = tsub.add_parser("revoke", help="token intrekken")
    revoke.add_argument("name")


def run_token_command(args: argparse.Namespace) -> int:
    from assistant.settings import load_settings

    store = TokenStore.from_settings(load_settings())
    try:
        if args.token_command == "create":
            token = store.create(
                args.name, args.role, parse_collections(args.collections), args.rate_limit
            )
            print(f"Token voor {args.name} (bewaar het nu; het wordt niet opnieuw getoond):")
            print(token)
        elif args.token_command == "revoke":
            if not store.revoke(args.name):
                print(f"Er is geen token '{args.name}'.", file=sys.stderr)
                return 1
            print(f"Token {args.name} ingetrokken.")
        else:
            for name, e in sorted(store.entries().items()):
                shown = (
                    e["collections"]
                    if isinstance(e["collections"], str)
                    else ",".join(e["collections"])
                )
                limit = e.get("rate_limit") or "standaard"
                print(f"{name}\t{e['role']}\t{shown}\t{limit}/min\t{e['created']}\t{e['hint']}")
    except AssistantError as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return 2
    return 0
