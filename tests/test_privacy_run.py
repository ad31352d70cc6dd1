"""The runner's privacy guarantees with a real kernel: the key reaches the notebooks and nothing else,
and a run whose report shows a raw member id fails without being published."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from commlab.errors import PrivacyLeakError, UsageError
from commlab.privacy import identity_needles, pseudonymize, scan_text
from commlab.runner import latest_run, run_playbook
from runs_helpers import COMMUNITIES, EVENTS, MEMBERS, write_playbook

pytestmark = pytest.mark.notebook

LONG = {"m1": "member_0001", "m2": "member_0002", "m3": "member_0003", "m4": "member_0004"}

PARAMS = '''data_dir: str = ""  # data folder
output_dir: str = "."  # where summary.json goes
lang: str = "zh"  # report language
leak: bool = False  # print a raw member id (the planted leak)'''

BODY = '''import pandas as pd
from commlab.outputs import write_summary
from commlab.privacy import pseudonymize
from commlab.settings import settings_from_env

settings = settings_from_env()  # the key from the kernel's environment: shown, it stays hidden
print(settings, repr(settings), vars(settings).keys())
display(settings)
members = pd.read_csv(f"{data_dir}/members.csv", dtype=str)
shown = pseudonymize(members["member_id"], settings.pseudonym_key)
print("members:", len(members), "first pseudonym:", shown.iloc[0])
if leak:
    print("top member:", members["member_id"].iloc[0])
write_summary(output_dir, {"members": len(members), "first": shown.iloc[0]})'''


def _project(root: Path) -> Path:
    data = root / "data"
    data.mkdir(parents=True)
    members = MEMBERS
    events = EVENTS
    for short, long in LONG.items():
        members = members.replace(f",{short},", f",{long},")
        events = events.replace(f",{short},", f",{long},")
    (data / "communities.csv").write_text(COMMUNITIES, encoding="utf-8")
    (data / "members.csv").write_text(members, encoding="utf-8")
    (data / "events.csv").write_text(events, encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# 成员 · Members"), params, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {"name": "commlab", "display_name": "Python (commlab)", "language": "python"}
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "members.ipynb")
    (root / "playbooks").mkdir()
    return root


def test_key_reaches_the_kernel_only_and_a_leak_fails_the_run(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    key = "key-" + secrets.token_hex(16)
    monkeypatch.setenv("CLIENT_KEY_FOR_TEST", key)
    pb = write_playbook(root, steps=[{"notebook": "../notebooks/members.ipynb"}],
                        parameters={"lang": "zh"}, privacy={"key_env": "CLIENT_KEY_FOR_TEST"})
    good = run_playbook(pb, runs_dir=root / "runs")
    # the kernel pseudonymised with the playbook's key (same pseudonym as computed here with it) ...
    expected = pseudonymize(pd.Series(["member_0001"]), key).iloc[0]
    assert good.summary["members"]["first"] == expected
    assert good.manifest["privacy"] == {"key_env": "CLIENT_KEY_FOR_TEST", "keyed": True, "k_anonymity": 5}
    # ... and the key itself is written nowhere in the run folder
    for f in good.run_dir.rglob("*"):
        if f.is_file():
            assert key not in f.read_text(encoding="utf-8", errors="replace"), f
    page = good.report.read_text(encoding="utf-8")
    assert expected in page and "member_0001" not in page

    def print_pdf(report: Path) -> tuple[str, None]:  # Chromium's print, done before the scan ends
        report.with_suffix(".pdf").write_bytes(b"%PDF-1.4 printed from the leaking report")
        return "report.pdf", None

    monkeypatch.setattr("commlab.runner._print_pdf", print_pdf)
    with pytest.raises(PrivacyLeakError) as info:
        run_playbook(pb, runs_dir=root / "runs", overrides={"leak": True})
    exc = info.value
    assert exc.exit_code == 7 and "report.html: member_id m…(11 chars)" in str(exc)
    assert "member_0001" not in str(exc)  # the error message names no identity
    failed = Path(exc.run_dir)
    assert not (failed / "report.html").exists() and (failed / "report.html.blocked").is_file()
    # the report was printed while the scan read it: the PDF of a leaking report is deleted
    assert list(failed.rglob("*.pdf*")) == [], list(failed.rglob("*.pdf*"))
    manifest = json.loads((failed / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed" and "privacy scan failed" in manifest["error"]
    assert latest_run(root / "runs", "demo") == good.run_dir  # the leaking run was not published


def test_a_data_folder_named_like_a_member_is_no_leak(tmp_path: Path) -> None:
    """The run record shows the name of the data folder, which the consultant chose. ``commlab import
    stackexchange_xml ... --out data/cardano`` then ``commlab run --data data/cardano`` was refused
    (exit 7) because a Cardano member calls themself 'cardano'; another member's name is still found."""
    root = _project(tmp_path)
    folder = root / "cardano"
    (root / "data").rename(folder)
    members = pd.read_csv(folder / "members.csv", dtype=str)
    members["display_name"] = ["Cardano", "Lisa Wong", "王敏娟", "Okonkwo"]
    members.to_csv(folder / "members.csv", index=False)
    pb = write_playbook(root, steps=[{"notebook": "../notebooks/members.ipynb"}], data="../cardano",
                        parameters={"lang": "zh"})
    run = run_playbook(pb, runs_dir=root / "runs")
    assert "cardano" in run.report.read_text(encoding="utf-8")  # in the run record: not a member's name there
    communities = pd.read_csv(folder / "communities.csv", dtype=str)
    communities["source"] = "exported by Lisa Wong"  # shown in the methods appendix
    communities.to_csv(folder / "communities.csv", index=False)
    with pytest.raises(PrivacyLeakError, match=r"display_name l…\(9 chars\)") as info:
        run_playbook(pb, runs_dir=root / "runs")
    # the message says where such a name comes from and what to change, naming no one
    assert "fix: a community's name or data source holds a member's name or id" in str(info.value)
    assert "Lisa" not in str(info.value)


def test_missing_key_variable_stops_before_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    monkeypatch.delenv("CLIENT_KEY_FOR_TEST", raising=False)
    pb = write_playbook(root, steps=[{"notebook": "../notebooks/members.ipynb"}], parameters={"lang": "zh"},
                        privacy={"key_env": "CLIENT_KEY_FOR_TEST"})
    with pytest.raises(UsageError, match="privacy.key_env names the environment variable 'CLIENT_KEY_FOR_TEST'"):
        run_playbook(pb, runs_dir=root / "runs")
    assert not (root / "runs").exists()


NAMES_BODY = '''import pandas as pd
from commlab.outputs import write_summary

members = pd.read_csv(f"{data_dir}/members.csv", dtype=str)
# the kit's own wording, which writes the names Lee, Max and Orbit in phrases of EXEMPTIONS
print("BG/NBD: Fader, Hardie & Lee (2005); each metric min–max scaled; source: Orbit Model")
for row in [int(s) for s in show.split(",") if s]:
    print("top poster:", members["display_name"].iloc[row])
write_summary(output_dir, {"members": len(members)})'''


def test_a_member_called_by_a_common_word_is_caught_by_the_cli(tmp_path: Path) -> None:
    """Issue 22: given names that are English words (Grace) or short (Amy), and display names that
    are English words or words of the kit (Orbit, Legend, Physics), were never searched. Through
    ``commlab run``: a report that shows them exits 7 naming no one; the kit's own phrases holding
    Lee, Max and Orbit (EXEMPTIONS) and the report's markup (``class="cl-legend"``) do not block a
    clean run, and Max shown outside its phrases is caught."""
    import os
    import subprocess
    import sys

    root = _project(tmp_path)
    members = pd.read_csv(root / "data" / "members.csv", dtype=str)
    members["display_name"] = ["Lee", "Grace", "Amy", "Max"]
    extra = pd.concat([members.iloc[[0]]] * 3, ignore_index=True)
    extra["member_id"] = [f"{members['member_id'].iloc[0]}x{i}" for i in range(3)]
    extra["display_name"] = ["Orbit", "Legend", "Physics"]
    pd.concat([members, extra], ignore_index=True).to_csv(root / "data" / "members.csv", index=False)
    nb = nbformat.read(root / "notebooks" / "members.ipynb", as_version=4)
    nb.cells[1].source = PARAMS.replace("leak: bool = False  # print a raw member id (the planted leak)",
                                        'show: str = ""  # rows of the members whose display names are printed')
    nb.cells[2].source = NAMES_BODY
    nbformat.write(nb, root / "notebooks" / "members.ipynb")
    write_playbook(root, steps=[{"notebook": "../notebooks/members.ipynb"}], parameters={"lang": "en"})

    def commlab(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "commlab", "-q", "run", "playbooks/demo.yaml", *args],
                              cwd=root, capture_output=True, text=True, timeout=600, check=False,
                              env={**os.environ, "COMMLAB_PSEUDONYM_KEY": "test-key"})

    clean = commlab()  # only the kit's phrases and markup
    assert clean.returncode == 0, clean.stderr
    page = Path(clean.stdout.strip().splitlines()[-1]).read_text(encoding="utf-8")
    assert "Fader, Hardie &amp; Lee (2005)" in page and "min–max scaled" in page and "Orbit Model" in page
    assert 'class="cl-legend' in page

    leak = commlab("-p", "show", "1,2,3,4,5,6")  # Grace, Amy, Max, Orbit, Legend, Physics
    assert leak.returncode == 7, leak.stderr
    assert "privacy scan failed: 6 member identit" in leak.stderr, leak.stderr  # the first 3 are listed
    blocked = next((root / "runs").rglob("report.html.blocked"))
    needles = identity_needles(pd.read_csv(root / "data" / "members.csv", dtype=str))
    assert sorted(n for _, n in scan_text(blocked.read_text(encoding="utf-8"), needles)) == [
        "amy", "grace", "legend", "max", "orbit", "physics"]
    for name in ("Grace", "Amy", "Max", "Orbit", "Legend", "Physics"):
        assert name not in leak.stderr + leak.stdout
    assert "give that member another display_name" in leak.stderr  # how to fix a name the report also writes
