"""Per-claim cache keys (issue 16): a claim's key covers the files its record depends on, and only those."""
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from pgtheory.claims import all_claims
from pgtheory.claims.dependencies import ROOT, ImportIndex, claim_code_version, claim_dependencies

FILES = {
    "__init__.py": 'VERSION = "1.0"\nfrom . import heavy\n',
    "heavy.py": "X = 1\n",
    "sub/__init__.py": "from .a import f\nfrom .b import g\n",
    "sub/a.py": "def f():\n    return 1\n",
    "sub/b.py": "def g():\n    return 2\n",
    "reg.py": "class Registry:\n    def register(self, name):\n        return lambda fn: fn\nR = Registry()\n",
    "plug.py": "from .reg import R\n\n@R.register('p')\ndef p():\n    return 3\n",
    "lazy.py": "def h():\n    return 4\n",
    "claim_mod.py": textwrap.dedent("""\
        from fakepkg import VERSION
        from fakepkg.sub import f
        from .reg import R

        def run(ctx):
            from .lazy import h
            return f() + h()
        """),
}


@pytest.fixture
def fakepkg(tmp_path, monkeypatch):
    for rel, text in FILES.items():
        p = tmp_path / "fakepkg" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path / "fakepkg"
    for name in [m for m in sys.modules if m == "fakepkg" or m.startswith("fakepkg.")]:
        del sys.modules[name]


def closure_files(pkg: Path) -> set[str]:
    idx = ImportIndex(("fakepkg",))
    return {idx.module(m).path.relative_to(pkg).as_posix() for m in idx.closure("fakepkg.claim_mod", registrants={})}


def test_names_resolve_to_their_defining_module_and_lazy_imports_count(fakepkg):
    got = closure_files(fakepkg)
    assert {"claim_mod.py", "sub/a.py", "reg.py", "lazy.py", "__init__.py"} <= got
    assert "sub/b.py" not in got  # the package re-exports g from b, but the claim never imports g
    assert "heavy.py" not in got  # only the literal VERSION is read from fakepkg/__init__: its imports are not followed


def test_a_module_importing_the_package_itself_depends_on_all_it_imports(fakepkg):
    (fakepkg / "claim_mod.py").write_text("import fakepkg.sub\n\ndef run(ctx):\n    return fakepkg.sub.f()\n")
    assert {"sub/a.py", "sub/b.py"} <= closure_files(fakepkg)  # conservative: the whole package __init__


def test_a_registry_pulls_in_the_modules_that_fill_it(fakepkg):
    idx = ImportIndex(("fakepkg",))
    reg = {"fakepkg.reg": {"fakepkg.plug"}}  # what ImportIndex.registrants finds for pgtheory's own registries
    assert "fakepkg.plug" in idx.closure("fakepkg.claim_mod", reg)
    assert "fakepkg.plug" not in idx.closure("fakepkg.claim_mod", {})  # twin: without the rule it would be missed


def test_key_changes_with_a_dependency_and_not_with_an_unrelated_file(fakepkg):
    import importlib

    run = importlib.import_module("fakepkg.claim_mod").run
    claim = SimpleNamespace(id="L0-fake", run=run)
    key = claim_code_version(claim)
    (fakepkg / "sub" / "b.py").write_text("def g():\n    return 20\n")
    assert claim_code_version(claim) == key  # unrelated
    (fakepkg / "sub" / "a.py").write_text("def f():\n    return 10\n")
    assert claim_code_version(claim) != key  # a dependency


def test_registrants_of_the_package_registries_are_found():
    reg = ImportIndex().registrants()
    assert "pgtheory.estimators.pspo" in reg["pgtheory.estimators.token_surrogates"]


def test_a_claim_depends_on_its_module_the_runner_and_no_sibling_claim():
    idx = ImportIndex()
    claims = {c.id: c for c in all_claims()}
    files = {p.relative_to(ROOT).as_posix() for p in claim_dependencies(claims["L177-pspo-soft-trust-region"], idx)}
    assert {"claims/library/l177_pspo.py", "estimators/pspo.py", "estimators/token_surrogates.py",
            "claims/runner.py", "claims/protocol.py", "claims/record.py"} <= files
    assert not any(f.startswith("claims/library/") and f != "claims/library/l177_pspo.py" for f in files)
    assert "cli.py" not in files
    l9 = {p.relative_to(ROOT).as_posix() for p in claim_dependencies(claims["L9-pg-theorem-autograd"], idx)}
    assert "estimators/pspo.py" not in l9  # an edit to PSPO does not re-run the policy-gradient-theorem check
