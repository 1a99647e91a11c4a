"""The conformance table (docs/conformance.md) cannot drift: every test it names exists, and every pgtheory function
it names is public in :mod:`pgtheory.estimators`. Twin: a made-up test name or function is reported missing."""
import re
from pathlib import Path

import pgtheory.estimators as E

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "conformance.md"


def _rows() -> list[list[str]]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith("| library") and not set(line) <= set("|- "):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            assert len(cells) == 4, f"a conformance row needs 4 cells: {line}"
            rows.append(cells)
    return rows


def _defined_tests() -> set[str]:
    names = set()
    for f in (ROOT / "tests").glob("test_*.py"):
        names |= set(re.findall(r"^def (test_\w+)\(", f.read_text(encoding="utf-8"), flags=re.M))
    return names


def _missing(rows, tests: set[str]) -> list[str]:
    out = []
    for lib, option, call, test_cell in rows:
        named = re.findall(r"`(test_\w+)`", test_cell)
        if not named:
            out.append(f"{lib} {option}: no test named")
        out += [f"{lib} {option}: test {t} not found" for t in named if t not in tests]
        for fn in re.findall(r"`([a-z_]+)\(", call):
            if not callable(getattr(E, fn, None)):
                out.append(f"{lib} {option}: pgtheory.estimators.{fn} is not public")
    return out


def test_every_row_names_an_existing_test_and_public_function():
    rows = _rows()
    assert len(rows) >= 50
    assert _missing(rows, _defined_tests()) == []


def test_twin_a_missing_test_or_function_is_reported():
    fake = [["verl", "x", "`no_such_function(r)`", "`test_that_does_not_exist`"]]
    assert len(_missing(fake, _defined_tests())) == 2
