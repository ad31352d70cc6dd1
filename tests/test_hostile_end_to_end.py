"""Hostile text from data files, end to end through the command line and headless Chromium (issue 22.1).

Every free-text field that can reach a report gets a payload: script and event-handler markup, a
``javascript:`` link, a ``</style>`` break-out, Jinja syntax (``{{7*7}}``, ``{%``), a right-to-left
override and zero-width characters. They enter through the three paths a client's data takes:
a copy of the samples (community names, a channel, a topic, a member's display name), a Telegram
export (chat title, a member's name, a message) and a CSV imported with a mapping (group name,
channel, nickname, message). Each path is run with ``commlab run`` (notebooks 01 and 05) and the
report and ``runs/index.html`` are opened in Chromium: no dialog, no script element, no console
error, a Content-Security-Policy forbidding scripts, the names shown literally where they are
shown (never a template's ``49``), member names and messages nowhere. A community name of 5,000
characters is refused as bad data (exit 3) naming the row, by ``validate`` and by an import.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from browser import CHROMIUM_ARGS, chromium_path
from conftest import REPO, SAMPLES

KEY = "hostile-test-key-3f9a"
IMG_SCRIPT = "<img src=x onerror=alert(1)>云朵家电<script>alert(2)</script>"
STYLE_JS_TEMPLATE = '</style><a href="javascript:alert(3)">点我</a>{{7*7}}{% if 1 %}模板{% endif %}'
RTL = "RTL\u202e群名 1.5%"  # a right-to-left override left open, and a number after it
ZERO_WIDTH = "零\u200b宽\u200d字符"
CHANNEL = "<svg onload=alert(4)>频道{{7*7}}"
TOPIC = "<iframe src=javascript:alert(5)>话题"
NICKNAME = "<script>alert(6)</script>蔺钰潼{{7*7}}"
MESSAGE = "<img src=y onerror=alert(7)>蒹葭苍苍{{7*7}}"
LONG_NAME = "长" * 4_990 + "尾"
# what the page would show had a template evaluated the name
EVALUATED = ("点我49", "点我</a>49", "{{7*7}}模板", "49模板")

PLAYBOOK = """name: hostile
title: {{zh: "恶意名称 {title}", en: "hostile names {title}"}}
data: {data}
parameters: {{lang: {lang}}}
steps:
  - notebook: {notebooks}/01_overview.ipynb
  - notebook: {notebooks}/05_recommendations.ipynb
    name: recommendations
report: {{lang: {lang}, summary_step: recommendations}}
"""


@dataclass
class Page:
    """What Chromium saw of one file."""

    text: str
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    active: dict = field(default_factory=dict)


ACTIVE_JS = """
() => { const ACTIVE_URL = /^\\s*(javascript|vbscript|data:text\\/html|data:image\\/svg)/i; return {
  scripts: document.scripts.length,
  iframes: document.querySelectorAll('iframe, object, embed').length,
  handlers: Array.from(document.querySelectorAll('*')).filter(
      e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length,
  js_links: Array.from(document.querySelectorAll('[href], [src]')).filter(e => ACTIVE_URL.test(
      e.getAttribute('href') || e.getAttribute('src') || '')).length,
  remote: Array.from(document.querySelectorAll('[src]')).filter(e => !/^data:/.test(e.getAttribute('src'))).length,
}; }
"""


def open_page(path: Path, width: int = 1280) -> Page:
    """Load ``path`` offline in headless Chromium, recording dialogs and console messages."""
    from playwright.sync_api import sync_playwright

    page_info = Page(text="")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("dialog", lambda d: (page_info.dialogs.append(d.message), d.dismiss()))
            page.on("console", lambda m: page_info.console.append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: page_info.console.append(f"pageerror: {e}"))
            page.route("http*://**", lambda route: route.abort())
            page.goto(path.resolve().as_uri(), wait_until="load")
            # the appendix's sections are closed <details>: open them to read all the text a reader can see
            page_info.text = page.evaluate("() => { document.querySelectorAll('details').forEach(d => d.open = true);"
                                           " return document.body.innerText; }")
            page_info.csp = page.evaluate(
                "() => Array.from(document.querySelectorAll('meta[http-equiv]'))"
                ".filter(m => m.httpEquiv.toLowerCase() === 'content-security-policy').map(m => m.content)")
            page_info.active = page.evaluate(ACTIVE_JS)
        finally:
            browser.close()
    return page_info


def _commlab(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "commlab", "-q", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=1200, check=False, env={**os.environ, "COMMLAB_PSEUDONYM_KEY": KEY})


def _run(root: Path, data: Path, lang: str = "zh") -> tuple[Path, Path]:
    """Notebooks 01 and 05 on ``data`` through ``commlab run --data``: (report.html, runs/index.html)."""
    playbook = root / "hostile.yaml"
    notebooks = Path(os.path.relpath(REPO / "notebooks", root))  # a playbook names notebooks relative to itself
    playbook.write_text(PLAYBOOK.format(title=json.dumps(IMG_SCRIPT)[1:-1], data=data, notebooks=notebooks,
                                        lang=lang), encoding="utf-8")
    proc = _commlab("run", str(playbook), "--data", str(data), "--runs-dir", str(root / "runs"), cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    report = Path(proc.stdout.strip().splitlines()[-1])
    return (report if report.is_absolute() else root / report), root / "runs" / "index.html"


def _samples_copy(folder: Path) -> Path:
    """Four communities of the samples with a payload in every free-text field."""
    folder.mkdir(parents=True)
    keep = {"c01": IMG_SCRIPT, "c02": STYLE_JS_TEMPLATE, "c08": RTL, "c11": ZERO_WIDTH}
    communities = pd.read_csv(SAMPLES / "communities.csv", dtype=str, keep_default_na=False)
    communities = communities[communities["community_id"].isin(keep)].copy()
    communities["name"] = communities["community_id"].map(keep)
    communities.to_csv(folder / "communities.csv", index=False)
    members = pd.read_csv(SAMPLES / "members.csv", dtype=str, keep_default_na=False)
    members = members[members["community_id"].isin(keep)].copy()
    members.loc[members["member_id"] == "c01_0005", "display_name"] = NICKNAME
    members.to_csv(folder / "members.csv", index=False)
    events = pd.read_parquet(SAMPLES / "events.parquet")
    events = events[events["community_id"].isin(keep)].copy()
    events.loc[events["community_id"] == "c01", "channel"] = CHANNEL
    events.loc[events["community_id"] == "c02", "topic"] = TOPIC
    events.to_parquet(folder / "events.parquet", index=False)
    return folder


def _telegram_export(folder: Path, title: str) -> Path:
    folder.mkdir(parents=True)
    export = json.loads((REPO / "tests" / "fixtures" / "importers" / "telegram" / "result.json").read_text("utf-8"))
    export["name"] = title
    for m in export["messages"]:
        if m.get("from") == "韩梅梅":
            m["from"] = NICKNAME
        if m["id"] == 5:
            m["text"] = MESSAGE
            m["text_entities"] = [{"type": "plain", "text": MESSAGE}]
    path = folder / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return path


def _mapping_export(folder: Path) -> Path:
    folder.mkdir(parents=True)
    fixture = REPO / "tests" / "fixtures" / "importers" / "mapping"
    rows = pd.read_csv(fixture / "群聊记录.csv", dtype=str, keep_default_na=False)
    rows.loc[rows["用户ID"] == "u002", "昵称"] = NICKNAME
    rows.loc[rows["类型"] == "发言", "内容"] = MESSAGE
    rows.to_csv(folder / "群聊记录.csv", index=False)
    spec = (fixture / "mapping.yaml").read_text(encoding="utf-8")
    spec = spec.replace("name: 示例训练营群", f"name: {json.dumps(STYLE_JS_TEMPLATE + IMG_SCRIPT)}")
    spec = spec.replace("columns:", f"constants:\n  channel: {json.dumps(CHANNEL)}\ncolumns:", 1)
    (folder / "mapping.yaml").write_text(spec, encoding="utf-8")
    return folder / "mapping.yaml"


def _import(root: Path, fmt: str, source: Path, out: Path) -> subprocess.CompletedProcess:
    return _commlab("import", fmt, str(source), "--out", str(out), cwd=root)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Page, Page, Path]]:
    """The three paths run once each: name -> (report page, index page, report path)."""
    chromium_path()
    out: dict[str, tuple[Page, Page, Path]] = {}
    root = tmp_path_factory.mktemp("samples")
    report, index = _run(root, _samples_copy(root / "data"))
    out["samples"] = (open_page(report), open_page(index), report)

    root = tmp_path_factory.mktemp("telegram")
    proc = _import(root, "telegram", _telegram_export(root / "export", IMG_SCRIPT + RTL), root / "data")
    assert proc.returncode == 0, proc.stderr
    report, index = _run(root, root / "data", lang="en")
    out["telegram"] = (open_page(report, width=390), open_page(index), report)

    root = tmp_path_factory.mktemp("mapping")
    proc = _import(root, "mapping", _mapping_export(root / "export"), root / "data")
    assert proc.returncode == 0, proc.stderr
    report, index = _run(root, root / "data")
    out["mapping"] = (open_page(report), open_page(index), report)
    return out


PATHS = ["samples", "telegram", "mapping"]


@pytest.mark.parametrize("path", PATHS)
def test_no_script_runs_and_the_page_forbids_scripts(reports: dict, path: str) -> None:
    for page in reports[path][:2]:  # report.html, runs/index.html
        assert page.dialogs == [], page.dialogs
        assert page.console == [], page.console  # a blocked inline script would be reported here
        assert page.active == {"scripts": 0, "iframes": 0, "handlers": 0, "js_links": 0, "remote": 0}, page.active
        assert len(page.csp) == 1, page.csp
        policy = {d.split()[0]: d.split()[1:] for d in page.csp[0].split(";") if d.strip()}
        assert policy.get("default-src") == ["'none'"], page.csp
        assert "script-src" not in policy or policy["script-src"] == ["'none'"], page.csp
        assert set(policy.get("img-src", ["data:"])) <= {"data:"}, page.csp


@pytest.mark.parametrize("path", PATHS)
def test_names_show_literally_and_no_template_is_evaluated(reports: dict, path: str) -> None:
    report, index, _ = reports[path]
    shown = {"samples": [IMG_SCRIPT, STYLE_JS_TEMPLATE, ZERO_WIDTH, "RTL群名 1.5%"],
             "telegram": [IMG_SCRIPT + "RTL群名 1.5%"],
             "mapping": [STYLE_JS_TEMPLATE + IMG_SCRIPT]}[path]
    for name in shown:
        assert name in report.text, (name, path)
    for evaluated in EVALUATED:
        assert evaluated not in report.text
    assert "\u202e" not in report.text  # the override is dropped: it cannot reverse the evidence after a name
    assert f"names {IMG_SCRIPT}" in index.text or f"名称 {IMG_SCRIPT}" in index.text  # the playbook title, literally


@pytest.mark.parametrize("path", PATHS)
def test_member_names_and_messages_are_nowhere(reports: dict, path: str) -> None:
    report, _, html = reports[path]
    files = [html, *sorted(html.parent.glob("**/summary.json"))]
    raw = "\n".join(f.read_text(encoding="utf-8") for f in files)
    for secret in ("蔺钰潼", "alert(6)", "蒹葭苍苍", "alert(7)"):
        assert secret not in report.text and secret not in raw, (secret, path)


def test_a_right_to_left_override_in_a_name_is_dropped_when_read(tmp_path: Path) -> None:
    """Left in, it reverses the rest of the line a name stands in: '名称：互动占 31%' reads '%13 占动互：'."""
    from commlab.data.load import load_dataset

    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "communities.csv").write_text(
        "community_id,name,theme,business_model,lifecycle,platform,monetization,created_at,source\n"
        f"c1,{RTL},interest,creator,mature,wechat,none,2024-01-01,\u2067导出\u2069 {ZERO_WIDTH}\n", encoding="utf-8")
    (folder / "members.csv").write_text("community_id,member_id,joined_at,role\nc1,m\u202e1,2024-01-02,member\n",
                                        encoding="utf-8")
    (folder / "events.csv").write_text("community_id,member_id,ts,event_type\nc1,m\u202e1,2024-01-03,message\n",
                                       encoding="utf-8")
    ds = load_dataset(folder, tz="UTC")
    assert ds.communities["name"].tolist() == ["RTL群名 1.5%"]
    assert ds.communities["source"].tolist() == [f"导出 {ZERO_WIDTH}"]  # zero-width characters are harmless: kept
    assert ds.members["member_id"].tolist() == ["m\u202e1"]  # ids are kept as they are (never shown raw)


def test_a_community_name_of_5000_characters_is_bad_data(tmp_path: Path) -> None:
    data = _samples_copy(tmp_path / "data")
    communities = pd.read_csv(data / "communities.csv", dtype=str, keep_default_na=False)
    communities.loc[communities["community_id"] == "c11", "name"] = LONG_NAME
    communities.to_csv(data / "communities.csv", index=False)
    proc = _commlab("validate", str(data), cwd=tmp_path)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    assert "column 'name': name too long" in proc.stderr and "row 5" in proc.stderr
    assert "(4,991 characters)" in proc.stderr and LONG_NAME not in proc.stderr
    assert "shorten the name to at most 200 characters" in proc.stderr

    export = _telegram_export(tmp_path / "export", LONG_NAME)
    proc = _import(tmp_path, "telegram", export, tmp_path / "tg")
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    assert "name too long" in proc.stderr and not (tmp_path / "tg").exists()
    assert re.search(r"(?m)^commlab: error: ", proc.stderr)
