"""How often: questions per user per minute, a budget for work that needs several at once, and
login attempts per address.

Sliding windows in this process: exact and cheap, but with several replicas behind a load
balancer each counts on its own (a user could ask N times the limit). A shared store (Redis)
would fix that; for one machine with one model it is not worth another service.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from assistant.access import User
from assistant.errors import AssistantError


class RateLimited(AssistantError):
    """Over the limit; the Dutch message says how long to wait."""


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
                raise RateLimited(
                    f"U heeft de afgelopen minuut al {self.per_minute} "
                    f"{'vraag' if self.per_minute == 1 else 'vragen'} gesteld. "
                    f"Wacht nog {wait} {'seconde' if wait == 1 else 'seconden'} en stel uw "
                    "vraag dan opnieuw."
                )
            hits.append(now)
            self._checks += 1
            if self._checks % 1000 == 0:  # forget idle users now and then
                self._prune(now)

    def check_budget(self, user: User | str, calls: int) -> None:
        """Raise a Dutch ``RateLimited`` unless ``calls`` more questions fit in the window now;
        counts nothing (each call is counted by ``check`` when it is made). For work that
        needs several calls at once (a briefing): all of it or none, never half."""
        if calls > self.per_minute:
            raise RateLimited(
                f"Dit vraagt {calls} vragen aan het taalmodel, meer dan de {self.per_minute} "
                "per minuut die zijn toegestaan. Kies een kortere lengte."
            )
        now = self._clock()
        with self._lock:
            hits = [t for t in self._hits.get(self._key(user), ()) if now - t < self.window_s]
        over = len(hits) + calls - self.per_minute
        if over > 0:  # the ``over`` oldest questions must leave the window first
            wait = max(1, math.ceil(self.window_s - (now - hits[over - 1])))
            raise RateLimited(
                f"Dit vraagt {calls} vragen aan het taalmodel; u kunt er nu nog "
                f"{max(0, self.per_minute - len(hits))} stellen. Wacht nog {wait} "
                f"{'seconde' if wait == 1 else 'seconden'} en probeer het dan opnieuw."
            )

    def remaining(self, user: User | str) -> int:
        key = self._key(user)
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key, deque())
            return self.per_minute - sum(1 for t in hits if now - t < self.window_s)

    def _prune(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self.window_s]:
            del self._hits[key]


LOGIN_PER_ADDRESS = 10  # login attempts per browser address per minute
LOGIN_OVERALL = 60  # ... and for the whole process: caps the bcrypt work (~0.25 s each)


class LoginThrottle:
    """Login attempts per minute, per client address and for everyone together.

    Keyed on the address, not on the typed name: rotating names must not buy unlimited
    bcrypt checks. Behind a proxy every attempt comes from the proxy's address, so the
    per-address limit becomes a shared one; the overall limit holds either way.
    """

    def __init__(
        self,
        per_address: int = LOGIN_PER_ADDRESS,
        overall: int = LOGIN_OVERALL,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_address = RateLimiter(per_address, clock=clock)
        self._overall = RateLimiter(overall, clock=clock)

    def check(self, address: str | None) -> None:
        """Count one attempt, or raise a Dutch ``AssistantError``."""
        try:
            self._per_address.check(f"adres:{address or 'onbekend'}")
            self._overall.check("alle")
        except AssistantError:
            raise AssistantError(
                "Te veel inlogpogingen in korte tijd. Wacht een minuut en probeer het opnieuw."
            ) from None
