"""Report building and run-folder helpers, on hand-made notebooks (no kernel needed)."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

from commlab.atomic import atomic_write_json, replace_symlink
from commlab.report import ReportSection, build_report, clean_notebook, external_references, notebook_title
from commlab.runs import list_runs, new_run_dir, point_latest, write_index
from commlab.sanitize import CSP

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def executed_notebook(path: Path) -> Path:
    """An 'executed' notebook with every kind of output a report must keep or drop."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('as_of = "2024-06-30"  # date')
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('# Parameters\nas_of = "2024-07-31"\n')
    injected.metadata["tags"] = ["injected-parameters"]
    plot = nbformat.v4.new_code_cell("SECRET_SOURCE = plot()")
    plot.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: glyph missing\n"),
        nbformat.v4.new_output("stream", name="stdout", text="kept stdout line\n"),
    ]
    failed = nbformat.v4.new_code_cell("1/0")
    failed.metadata["tags"] = ["raises-exception"]
    failed.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                             traceback=["Traceback (most recent call last)", "ZeroDivisionError"])]
    removed = nbformat.v4.new_code_cell("print('x')")
    removed.metadata["tags"] = ["remove"]
    removed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="REMOVED_OUTPUT\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# 概览 Overview\n\nIntro text.\n\n## 细节"), params, injected, plot,
                failed, removed, nbformat.v4.new_markdown_cell("<script src='https://cdn.example.com/x.js'></script>")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, path)
    return path


def test_notebook_title_and_cleaning(tmp_path: Path) -> None:
    nb = nbformat.read(executed_notebook(tmp_path / "a.ipynb"), as_version=4)
    assert notebook_title(nb) == "概览 Overview"
    clean = clean_notebook(nb)
    sources = [c.source for c in clean.cells]
    assert not any("as_of" in s or "REMOVED" in s for s in sources)
    outputs = [o for c in clean.cells if c.cell_type == "code" for o in c.outputs]
    assert {o.output_type for o in outputs} == {"display_data", "stream"}
    assert all(o.get("name") != "stderr" for o in outputs)
    assert len(nb.cells) == 7  # the input is not modified


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_build_report(tmp_path: Path, lang: str) -> None:
    a = executed_notebook(tmp_path / "a.ipynb")
    out = build_report([ReportSection(a), ReportSection(a, title="第二节")], tmp_path / "report.html",
                       title="报告 <标题>", lang=lang, client="客户 & Co", as_of="2024-06-30", run_id="r1")
    page = out.read_text(encoding="utf-8")
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'.replace("'", "&#39;") in page
    assert "<title>报告 &lt;标题&gt;</title>" in page
    assert '<div class="jp-InputArea' not in page and "<script" not in page
    assert "SECRET_SOURCE" not in page and "as_of =" not in page and "REMOVED_OUTPUT" not in page
    assert "Traceback" not in page and "ZeroDivisionError" not in page and "glyph missing" not in page
    assert "kept stdout line" in page and "Intro text." in page and "客户 &amp; Co" in page
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) == 2
    assert external_references(page) == [] and "cdn.example.com" not in page
    assert "mathjax" not in page.lower() and "require.min.js" not in page and "widget-state" not in page
    # without an executive summary step there is no client part to separate: the sections are shown open
    assert re.search(r"<details [^>]*open>\s*<summary>概览 Overview</summary>", page)
    assert re.search(r"<details [^>]*open>\s*<summary>第二节</summary>", page)
    assert re.search(r"<h3[^>]*>细节", page)  # the notebook's own headings sit below the section's
    assert not list(tmp_path.glob(".*.tmp"))


def test_replace_symlink_is_relative_and_leaves_no_temp(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    replace_symlink(tmp_path / "latest", "a")
    replace_symlink(tmp_path / "latest", "b")
    assert os.readlink(tmp_path / "latest") == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "latest"]
    atomic_write_json(tmp_path / "x.json", {"名": 1})
    assert json.loads((tmp_path / "x.json").read_text(encoding="utf-8")) == {"名": 1}


def test_run_dirs_are_unique_and_listed(tmp_path: Path) -> None:
    t = datetime(2026, 11, 27, 18, 1, 2, tzinfo=UTC)
    dirs = {new_run_dir(tmp_path, "demo", t) for _ in range(50)}
    assert len(dirs) == 50 and all(d.name.startswith("20261127T180102Z-") for d in dirs)
    a, b, c = sorted(dirs)[:3]
    atomic_write_json(a / "manifest.json", {"status": "succeeded", "started": "2026-11-27T18:01:02Z"})
    (a / "report.html").write_text("<html></html>", encoding="utf-8")
    atomic_write_json(b / "manifest.json", {"status": "running", "host": os.uname().nodename, "pid": 2**22 + 7,
                                            "started": "2026-11-27T18:01:03Z"})
    point_latest(a)
    runs = {r["run_id"]: r for r in list_runs(tmp_path)}
    assert runs[a.name]["status"] == "succeeded" and runs[a.name]["latest"] and runs[a.name]["report"]
    assert runs[b.name]["status"] == "interrupted"  # marked running, but its process is gone
    assert runs[c.name]["status"] == "unknown"
    page = write_index(tmp_path).read_text(encoding="utf-8")
    assert f'href="./demo/{a.name}/report.html"' in page and "<script" not in page
