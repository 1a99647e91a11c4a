"""The claims ledger: claim records, their registry, the runner and the rendering of the ledger."""
from .record import VERDICTS, Claim, Evidence, RunContext
from .registry import CLAIMS, all_claims, register_claim
from .runner import check, code_version, load_ledger

__all__ = ["VERDICTS", "Claim", "Evidence", "RunContext", "CLAIMS", "all_claims", "register_claim", "check",
           "code_version", "load_ledger"]
