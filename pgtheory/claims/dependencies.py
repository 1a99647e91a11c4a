r"""Which source files a claim's record depends on, found by reading the imports (issue 16: per-claim cache keys).

A claim's cache key hashes the files its record can depend on, so that an edit re-runs only the claims it can
affect. The set is the transitive closure of imports from the claim's module, resolved *by name*:

- ``from pgtheory.exact import policy_gradient`` depends on the submodule that defines ``policy_gradient``
  (followed through the package ``__init__``'s re-exports), not on the whole ``pgtheory.exact`` package;
  a name defined in an ``__init__`` itself, ``import pgtheory.exact`` and ``from pgtheory import exact`` depend
  on the package ``__init__`` and hence on everything it imports (conservative);
- imports inside functions count like top-level ones (a claim may import lazily);
- a module that fills a registry the closure holds (``@TOKEN_SURROGATES.register("pspo")`` in another module)
  is part of the closure: looking a name up in the registry can reach it;
- the claim library (``pgtheory.claims.library``) is never entered except for the claim's own module: one
  claim does not depend on its siblings, although the registry imports them all;
- the runner's own closure (protocol, record, rendering of the record) is added to every claim's key.

What static reading cannot see — ``importlib.import_module`` with a computed name, files read at run time —
is not tracked; the record keeps the git commit as well, so every record stays attributable to one tree.
Modules outside the package (a claim registered through an entry point) are tracked when importable: their
own file and their imports into ``pgtheory`` and into their own top-level package.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__

__all__ = ["ImportIndex", "claim_dependencies", "claim_code_version", "claim_code_versions"]

PACKAGE = "pgtheory"
ROOT = Path(__file__).resolve().parents[1]  #: the pgtheory package directory
LIBRARY = f"{PACKAGE}.claims.library"
RUNNER = f"{PACKAGE}.claims.runner"


@dataclass
class _Module:
    name: str
    path: Path
    is_package: bool
    imports: list[tuple[str, str | None]] = field(default_factory=list)  #: (module, name or None for the module itself)
    exports: dict[str, tuple[str, str]] = field(default_factory=dict)  #: re-exported name → (source module, its name)
    star_sources: list[str] = field(default_factory=list)  #: ``from X import *`` sources
    registers_into: set[tuple[str, str]] = field(default_factory=set)  #: (module, name) of registries it fills
    constants: set[str] = field(default_factory=set)  #: top-level names bound to a literal (``__version__ = "1.0"``)


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute module name of a (possibly relative) ``from`` import inside ``module``."""
    if level == 0:
        return target or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([target] if target else []))


class ImportIndex:
    """Parsed imports of the modules met so far (each file read once per index)."""

    def __init__(self, roots: tuple[str, ...] = (PACKAGE,)):
        self.roots = set(roots)
        self._modules: dict[str, _Module | None] = {}
        self._registrants: dict[str, set[str]] | None = None

    def tracked(self, name: str) -> bool:
        return name.split(".")[0] in self.roots

    def module(self, name: str) -> _Module | None:
        """The parsed module ``name``, or None when it is not a tracked, findable Python source file."""
        if name in self._modules:
            return self._modules[name]
        self._modules[name] = None
        if not self.tracked(name):
            return None
        path = self._find(name)
        if path is None:
            return None
        mod = _Module(name, path, path.name == "__init__.py")
        self._modules[name] = mod
        self._parse(mod)
        return mod

    @staticmethod
    def _find(name: str) -> Path | None:
        parts = name.split(".")
        if parts[0] == PACKAGE:
            base = ROOT.joinpath(*parts[1:])
            for p in (base.with_suffix(".py"), base / "__init__.py"):
                if p.is_file():
                    return p
            return None
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError, AttributeError):
            return None
        origin = getattr(spec, "origin", None) if spec is not None else None
        return Path(origin) if origin and origin.endswith(".py") and Path(origin).is_file() else None

    def _parse(self, mod: _Module) -> None:
        tree = ast.parse(mod.path.read_bytes(), filename=str(mod.path))
        local: dict[str, tuple[str, str | None]] = {}  # name bound by an import → (module, name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    mod.imports.append((a.name, None))
                    if a.asname:
                        local[a.asname] = (a.name, None)
            elif isinstance(node, ast.ImportFrom):
                src = _absolute(mod.name, mod.is_package, node.level, node.module)
                for a in node.names:
                    if a.name == "*":
                        mod.star_sources.append(src)
                        mod.imports.append((src, None))
                        continue
                    mod.imports.append((src, a.name))
                    local[a.asname or a.name] = (src, a.name)
                    if node in tree.body:
                        mod.exports[a.asname or a.name] = (src, a.name)
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                mod.constants.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for node in ast.walk(tree):  # X.register(...) calls and @X.register(...) decorators
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in local):
                src, name = local[node.func.value.id]
                if name is not None:
                    mod.registers_into.add((src, name))

    def defining_module(self, module: str, name: str, _seen: frozenset = frozenset()) -> str:
        """The module whose code ``from module import name`` reaches: a submodule, the re-export's source, or ``module``."""
        if (module, name) in _seen:
            return module
        seen = _seen | {(module, name)}
        if self.module(f"{module}.{name}") is not None:
            return f"{module}.{name}"
        mod = self.module(module)
        if mod is None or not mod.is_package:
            return module
        if name in mod.exports:
            src, orig = mod.exports[name]
            return self.defining_module(src, orig, seen) if self.module(src) is not None else module
        for src in mod.star_sources:
            if self.module(src) is not None:
                return self.defining_module(src, name, seen)
        return module

    def direct_dependencies(self, name: str) -> tuple[set[str], set[str]]:
        """(modules ``name`` imports code from, modules of which it reads only a literal constant: file only)."""
        mod = self.module(name)
        if mod is None:
            return set(), set()
        code, files = set(), set()
        for src, item in mod.imports:
            if not self.tracked(src):
                continue
            target = src if item is None else self.defining_module(src, item)
            found = self.module(target)
            if found is None:
                continue
            (files if item is not None and target == src and item in found.constants else code).add(target)
        return code, files - code

    def registrants(self) -> dict[str, set[str]]:
        """Registry module → the package modules that register entries into a registry it defines (computed once)."""
        if self._registrants is not None:
            return self._registrants
        out: dict[str, set[str]] = {}
        for path in ROOT.rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            name = ".".join((PACKAGE, *parts))
            if name.startswith(LIBRARY) or b".register(" not in path.read_bytes():
                continue  # parse only the files that can register anything
            mod = self.module(name)
            for src, item in (mod.registers_into if mod else ()):
                out.setdefault(self.defining_module(src, item), set()).add(name)
        self._registrants = out
        return out

    def closure(self, start: str, registrants: dict[str, set[str]] | None = None) -> set[str]:
        """``start`` and every module it can reach (see the module docstring), never entering the claim library.

        A module of which only a literal constant is read (``from pgtheory import __version__``) is included as a
        file, without following its own imports."""
        registrants = self.registrants() if registrants is None else registrants
        seen, files, todo = set(), set(), [start]
        while todo:
            m = todo.pop()
            if m in seen or (m != start and (m == LIBRARY or m.startswith(LIBRARY + "."))):
                continue
            if self.module(m) is None:
                continue
            seen.add(m)
            code, only_file = self.direct_dependencies(m)
            todo.extend(code)
            files |= only_file
            todo.extend(registrants.get(m, ()))
        return seen | files


def _claim_module(claim) -> str:
    mod = getattr(getattr(claim, "run", None), "__module__", None)
    if not isinstance(mod, str):
        raise ValueError(f"claim: cannot tell which module defines claim {getattr(claim, 'id', claim)!r}")
    return mod


def claim_dependencies(claim, index: ImportIndex | None = None) -> list[Path]:
    """The source files a claim's record depends on (its module's closure and the runner's), sorted."""
    mod = _claim_module(claim)
    index = ImportIndex((PACKAGE, mod.split(".")[0])) if index is None else index
    index.roots.add(mod.split(".")[0])
    reg = index.registrants()
    names = index.closure(mod, reg) | index.closure(RUNNER, reg)
    return sorted({index.module(n).path for n in names}, key=str)


def _hash(files: list[Path]) -> str:
    h = hashlib.sha256(__version__.encode())
    for p in files:
        try:
            label = p.relative_to(ROOT).as_posix()
        except ValueError:
            label = p.name
        h.update(label.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def claim_code_version(claim, index: ImportIndex | None = None) -> str:
    """The claim's cache key: a hash of the package version and of the files :func:`claim_dependencies` lists."""
    return _hash(claim_dependencies(claim, index))


def claim_code_versions(claims) -> dict[str, str]:
    """``{claim.id: claim_code_version(claim)}`` for several claims, reading each file once."""
    index = ImportIndex()
    return {c.id: claim_code_version(c, index) for c in claims}
