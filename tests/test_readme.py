"""Every Python block of README.md runs on its own (fresh namespace), as a reader would paste it (issue 18)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs_on_its_own(index, capsys):
    exec(compile(BLOCKS[index], f"README.md[python block {index}]", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip(), "each README block prints what it computes"


def test_readme_links_stay_inside_the_repository():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" in target:
            continue
        assert (ROOT / target).resolve().is_relative_to(ROOT), target
        assert (ROOT / target).exists(), target
    assert "../" not in text


def test_readme_ledger_counts_agree_with_its_rows_and_the_registry():
    from pgtheory.claims import all_claims

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    ledger = text[text.index("## The ledger"):]
    ledger = ledger[:ledger.find("\n## ", 1)] if "\n## " in ledger else ledger  # the ledger section only
    stated = [int(m) for m in re.findall(r"(\d+) claims\)", text)]
    rows = re.findall(r"^\| `((?:L\d+|P)-[a-z0-9-]+)` \|", ledger, flags=re.M)
    assert stated and all(n == len(rows) for n in stated), (stated, len(rows))
    assert set(rows) <= {c.id for c in all_claims()}
