"""The demo playbook on a 3-member export (the owner and two members), run for real: it used to stop with exit 5
('cannot choose k automatically with n_samples=2'); now the segmentation says why it makes one segment, and
the zh report's methods appendix defines every metric in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from commlab.i18n import t
from commlab.runner import run_playbook
from language import foreign, visible_text

REPO = Path(__file__).resolve().parents[1]
#: Latin a zh definition, formula or source may carry (names of methods, data sets and people, the kit's
#: name, math functions); one-letter math variables are not counted.
NAMES = {"CHAOSS", "Orbit", "Discourse", "Fader", "Hardie", "Lee", "CDNOW", "Freeman", "Jaccard", "commlab",
         "ceil", "max", "UTC"}


def _tiny_export(samples: Path, out: Path) -> Path:
    """Community c01 of the samples cut to its owner and its two most active members, with their events."""
    out.mkdir()
    members = pd.read_csv(samples / "members.csv", dtype=str)
    events = pd.read_parquet(samples / "events.parquet")
    events = events[events["community_id"] == "c01"]
    owner = members.loc[(members["community_id"] == "c01") & (members["role"] == "owner"), "member_id"].tolist()
    plain = members.loc[(members["community_id"] == "c01") & (members["role"] == "member"), "member_id"]
    top = events[events["member_id"].isin(plain)]["member_id"].value_counts().index[:2].tolist()
    keep = owner + top
    members[members["member_id"].isin(keep)].to_csv(out / "members.csv", index=False)
    communities = pd.read_csv(samples / "communities.csv", dtype=str)
    communities[communities["community_id"] == "c01"].to_csv(out / "communities.csv", index=False)
    events = events[events["member_id"].isin(keep)].copy()
    events.loc[~events["target_member_id"].isin(keep), "target_member_id"] = None
    events.to_csv(out / "events.csv", index=False)
    return out


@pytest.fixture(scope="module")
def tiny_run(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("tiny")
    data = _tiny_export(samples_dir, root / "export")
    return run_playbook(REPO / "playbooks" / "demo.yaml", runs_dir=root / "runs", data_dir=data)


def test_a_three_member_export_runs_and_says_why_it_is_one_segment(tiny_run) -> None:
    seg = tiny_run.summary["02_member_segments"]
    assert tiny_run.manifest["status"] == "succeeded"
    assert (seg["members_clustered"], seg["k"], seg["too_few_to_segment"], seg["stability_ari"]) == (2, 1, True, None)
    # the one segment stands for 2 members: below k = 5 its size is never shown (the privacy floor holds)
    assert [s["size"] for s in seg["segments"]] == [None] and tiny_run.manifest["privacy"]["k_anonymity"] == 5
    text = visible_text(tiny_run.report.read_text(encoding="utf-8"))
    note = t("seg_too_few", "zh").format(n=2, lo=3, hi=8)
    assert text.count(note) == 1, "the reason is said once, where k would have been chosen"
    assert text.count(t("seg_one_segment", "zh")) == 4  # profiles, projection, roles × clusters, stability
    assert "n_samples" not in text and "Traceback" not in text


def test_the_zh_methods_appendix_has_no_english_definition_line(tiny_run) -> None:
    html = tiny_run.report.read_text(encoding="utf-8")
    methods = re.search(r'<details[^>]*id="methods".*?</details>', html, re.S).group(0)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in re.findall(r"<tr>(.*?)</tr>", methods, re.S)]
    rows = [r for r in rows if len(r) == 7]  # name, id, definition, formula, unit, direction, source
    assert len(rows) >= 78
    english = [r[1] for r in rows
               if any(len(w) > 1 for j, c in enumerate(r) if j != 1
                      for w in foreign(visible_text(c), "zh", allowed=NAMES))]
    assert english == []
    assert "僵尸粉" in methods and "潜水" in methods and "核心用户" in methods
