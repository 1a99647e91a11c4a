"""`pgtheory report`: a static HTML report whose links resolve, whose HTML is well formed and whose text is escaped."""
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from pgtheory.claims.report import write_report
from pgtheory.cli import main

VOID = {"meta", "img", "br", "hr", "link", "input"}


def record(cid: str, verdict: str, **kw) -> dict:
    base = {"id": cid, "paper": "A paper", "seed_line": int(cid.split("-")[0][1:]), "claim": "c", "theme": "GR, KL",
            "test": "t", "statistic": 0.5, "threshold": "< 1", "n_samples": 10, "summary": "s", "details": {"x": [1, 2]},
            "figure": f"figures/{cid}.png", "device": "cpu", "seconds": 1.0, "scale": "quick", "seed": 0, "run_seed": 0,
            "alpha": 0.001, "code_version": "abc", "git_commit": "0" * 40, "dirty": False, "verdict": verdict,
            "raw_verdict": verdict, "quote_verdict": None, "protocol_notes": [], "kind": "theorem", "quote": "q",
            "quote_source": "seed abstract", "extension": False, "constants": {"lr": [0.1, 1]},
            "instances": {"count": 4, "holding": 3, "fraction": 0.75},
            "sensitivity": [{"constant": "lr", "value": 0.1, "verdict": verdict, "gap": 0.2}]}
    base.update(kw)
    return base


@pytest.fixture
def results(tmp_path):
    res = tmp_path / "r"
    (res / "figures").mkdir(parents=True)
    recs = [record("L9-alpha", "confirmed"), record("L55-beta", "qualified", kind="empirical", raw_verdict="refuted",
                                                  summary="x < y & <script>alert(1)</script>", extension=True)]
    for r in recs:
        (res / r["figure"]).write_bytes(b"\x89PNG fake")
    (res / "ledger.json").write_text(json.dumps(recs))
    return res


class Checker(HTMLParser):
    """Collects links and checks that every non-void element is closed in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.links, self.errors, self.scripts, self.rows = [], [], [], 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "script":
            self.scripts += 1
        if tag == "tr" and "data-verdict" in a:
            self.rows.append(a)
        for k in ("href", "src"):
            if a.get(k):
                self.links.append(a[k])

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def parse(path: Path) -> Checker:
    c = Checker()
    c.feed(path.read_text(encoding="utf-8"))
    c.close()
    assert not c.errors and not c.stack, (path, c.errors, c.stack)
    return c


def test_report_pages_are_well_formed_and_every_link_resolves(results):
    index = write_report(results)
    pages = [index, *sorted((index.parent / "claims").glob("*.html"))]
    assert [p.name for p in pages[1:]] == ["L55-beta.html", "L9-alpha.html"]
    for page in pages:
        for link in parse(page).links:
            assert "://" not in link, link  # self-contained: nothing fetched from the network
            assert (page.parent / unquote(link)).resolve().is_file(), (page, link)
    rows = parse(index).rows
    assert [(r["data-verdict"], r["data-kind"], r["data-theme"]) for r in rows] == [
        ("confirmed", "theorem", "GR KL"), ("qualified", "empirical", "GR KL")]
    beta = (index.parent / "claims" / "L55-beta.html").read_text()
    assert "pgtheory check --quick L55-beta --seed 0" in beta and "refuted" in beta and "can qualify, never refute" in beta


def test_record_text_is_escaped(results):
    """A summary holding markup shows as text; twin: the same page without escaping would carry a second script."""
    index = write_report(results)
    page = index.parent / "claims" / "L55-beta.html"
    assert parse(page).scripts == 0 and "&lt;script&gt;" in page.read_text()
    assert parse(index).scripts == 1  # only the filter script
    raw = page.read_text().replace("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>")
    twin = Checker()
    twin.feed(raw)
    assert twin.scripts == 1


def test_cli_report_and_its_refusals(results, tmp_path, capsys):
    assert main(["report", "--results", str(results)]) == 0
    assert "report:" in capsys.readouterr().out and (results / "report" / "index.html").is_file()
    assert main(["report", "--results", str(tmp_path / "none")]) == 2
    assert "results: no ledger" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "file")]) == 2
    assert "out:" in capsys.readouterr().err


BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt install chromium): the browser check is skipped")
def test_report_renders_in_a_headless_browser_and_filters(results, tmp_path):
    index = write_report(results)
    dom = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", index.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert "L9-alpha" in dom and "L55-beta" in dom and 'id="shown">2<' in dom
    filtered = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                               index.as_uri() + "#verdict=qualified"], capture_output=True, text=True, timeout=120).stdout
    assert 'id="shown">1<' in filtered  # the filter ran: one qualified row of two
    shot = tmp_path / "shot.png"
    subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}", "--window-size=1200,800",
                    index.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 1000
