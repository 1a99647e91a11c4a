"""The registry of claims (filled by importing :mod:`pgtheory.claims.library`)."""
from __future__ import annotations

from .._registry import Registry
from .record import Claim

__all__ = ["CLAIMS", "register_claim", "all_claims"]

CLAIMS: Registry[Claim] = Registry("claim")


def register_claim(claim: Claim) -> Claim:
    CLAIMS.register(claim.id)(claim)
    return claim


def all_claims() -> list[Claim]:
    from . import library  # noqa: F401  (registers every claim)

    return [CLAIMS.get(n) for n in CLAIMS.names()]
