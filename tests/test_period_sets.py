"""A notebook declares the metric period sets it asks for in its own metadata; the run computes them in one pass.

``metadata.commlab.period_sets`` (:func:`commlab.plan.notebook_period_sets`): the plan resolves each
declaration against the step's parameters, the runner declares them to the run's table cache
(:mod:`commlab.engines.runcache`), and the first metric request of the run computes all of them, so
the later notebooks read theirs. Nothing is keyed by a notebook's file name: a user's notebook,
named as it likes, gets the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml

from commlab.errors import PlaybookError
from commlab.plan import notebook_period_sets, plan_run
from commlab.playbook import load_playbook
from conftest import REPO

AS_OF = "2024-06-30T16:00:00Z"

PARAMS = '''data_dir: str = "data"
output_dir: str = "."
as_of: str = "2024-06-30"
communities: list = []
window: str = "month"
days: int = 14
'''

#: A user's notebook: the metrics of its own periods, through the public API, and their count in summary.json.
BODY = '''import pandas as pd

import commlab as cl

settings = cl.settings_from_env()
ds = cl.load_dataset(data_dir, communities=communities or None, **settings.load_options())
now = cl.as_utc(as_of)
if ASK == "window":
    table = cl.compute_metrics(ds, as_of=now, window=None if window == "none" else window)
else:
    table = cl.compute_metrics(ds, as_of=now, window=None, start=now - pd.Timedelta(days=days))
cl.nb.write_summary(output_dir, {"rows": len(table), "defined": int(table["value"].notna().sum())})
'''


def _notebook(path: Path, ask: str, period_sets: list | None) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(f"ASK = {ask!r}\n" + BODY)]
    nb.metadata["kernelspec"] = {"name": "commlab", "display_name": "Python (commlab)", "language": "python"}
    if period_sets is not None:
        nb.metadata["commlab"] = {"period_sets": period_sets}
    nbformat.write(nb, path)
    return path


def _playbook(root: Path, steps: list[dict], **parameters) -> Path:
    pb = {"name": "user", "title": "User notebooks", "data": "../data",
          "parameters": {"as_of": AS_OF, **parameters}, "steps": steps, "report": {"lang": "en"}}
    path = root / "playbooks" / "user.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(pb, allow_unicode=True), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the declaration, planned


def test_the_demo_notebooks_declare_what_they_ask_with_the_steps_parameters():
    demo = load_playbook(REPO / "playbooks" / "demo.yaml")
    sets = lambda plans: [(p.notebook.stem, p.period_sets()) for p in plans]  # noqa: E731
    expected = [("01_overview", []), ("02_member_segments", []),
                ("03_community_health", [{"window": "month", "last_days": None}]),
                ("04_compare_types", [{"window": None, "last_days": None}]),
                ("05_recommendations", [{"window": None, "last_days": 30}])]
    assert sets(plan_run(demo)) == expected
    # the parameters the steps run with, however they are set
    changed = sets(plan_run(demo, overrides={"window": "week", "period_days": "14"}))
    assert [s for _, s in changed][2:] == [[{"window": "week", "last_days": None}],
                                          [{"window": None, "last_days": None}], [{"window": None, "last_days": 14}]]


def test_a_notebook_of_any_name_declares_its_sets_and_one_without_declares_nothing(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "mine.ipynb", "window", [
        {"window": {"parameter": "window"}}, {"last_days": 7}, {"window": "none"}, {"window": "none"}])
    _notebook(tmp_path / "notebooks" / "05_recommendations.ipynb", "days", None)  # our name, no declaration: nothing
    pb = _playbook(tmp_path, [{"notebook": "../notebooks/mine.ipynb"},
                              {"notebook": "../notebooks/05_recommendations.ipynb"}],
                   window="week")
    plans = plan_run(load_playbook(pb))
    assert [p.period_sets() for p in plans] == [
        [{"window": "week", "last_days": None}, {"window": None, "last_days": 7}, {"window": None, "last_days": None}],
        []]


@pytest.mark.parametrize(("meta", "message"), [
    ({"commlab": ["window"]}, "metadata.commlab must be a mapping"),
    ({"commlab": {"period_sets": {"window": "month"}}}, "metadata.commlab.period_sets must be a list"),
    ({"commlab": {"period_sets": [{"windows": "month"}]}}, "period_sets[0] must be a mapping with the keys window"),
    ({"commlab": {"period_sets": [{}]}}, "period_sets[0] must be a mapping with the keys window"),
    ({"commlab": {"period_sets": [{"window": "month"}, {"window": "quarter"}]}},
     "period_sets[1].window must be one of month, week, none"),
    ({"commlab": {"period_sets": [{"last_days": 0}]}}, "period_sets[0].last_days must be a whole number of days"),
    ({"commlab": {"period_sets": [{"last_days": "30"}]}}, "period_sets[0].last_days must be a whole number"),
    ({"commlab": {"period_sets": [{"last_days": {"param": "days"}}]}},
     'period_sets[0].last_days: a parameter is named as {"parameter": "<name>"}'),
    ({"commlab": {"period_sets": [{"last_days": {"parameter": "day"}}]}},
     "names the parameter 'day', which the notebook does not declare; did you mean 'days'?"),
])
def test_a_malformed_declaration_stops_the_plan_naming_the_notebook_and_the_field(tmp_path, meta, message):
    (tmp_path / "data").mkdir()
    (tmp_path / "notebooks").mkdir()
    nb = _notebook(tmp_path / "notebooks" / "kpis.ipynb", "days", None)
    book = nbformat.read(nb, as_version=4)
    book.metadata.update(meta)
    nbformat.write(book, nb)
    with pytest.raises(PlaybookError) as err:
        plan_run(load_playbook(_playbook(tmp_path, [{"notebook": "../notebooks/kpis.ipynb"}])))
    assert str(nb) in str(err.value) and message in str(err.value)
    assert err.value.exit_code == PlaybookError.exit_code


def test_the_declaration_is_read_as_written(tmp_path):
    nb = _notebook(tmp_path / "x.ipynb", "days", [{"last_days": {"parameter": "days"}}, {"window": "month"}])
    assert notebook_period_sets(nb) == [{"last_days": {"parameter": "days"}}, {"window": "month"}]
    assert notebook_period_sets(_notebook(tmp_path / "y.ipynb", "days", None)) == []


# --------------------------------------------------------------------------- in a real run


def _run(root: Path, first_sets: list | None, second_sets: list | None) -> list[list[tuple[str, str]]]:
    """Two user notebooks (months, then the last 14 days) in one real run: each step's metric tables."""
    from commlab.runner import run_playbook

    (root / "notebooks").mkdir()
    _notebook(root / "notebooks" / "a first look.ipynb", "window", first_sets)
    _notebook(root / "notebooks" / "kpis-14d.ipynb", "days", second_sets)
    pb = _playbook(root, [{"notebook": "../notebooks/a first look.ipynb", "name": "look"},
                          {"notebook": "../notebooks/kpis-14d.ipynb", "name": "kpis"}],
                   communities=["c01", "c04"])
    run = run_playbook(pb, runs_dir=root / "runs")
    steps = json.loads((run.run_dir / "manifest.json").read_text(encoding="utf-8"))["steps"]
    got = [[(e["status"], e["key"]) for e in s["tables"] if e["kind"] == "metrics"] for s in steps]
    summaries = [json.loads((run.run_dir / s["name"] / "summary.json").read_text(encoding="utf-8")) for s in steps]
    assert all(s["rows"] > 0 and s["defined"] > 0 for s in summaries)
    return got


@pytest.mark.slow
@pytest.mark.notebook
def test_a_users_notebook_gets_the_one_pass_by_declaring_its_sets(tmp_path, samples_dir):
    """Declared: the first step computes both sets in one pass, the second reads. Not declared: each computes."""
    import shutil

    for root in (tmp_path / "declared", tmp_path / "silent"):
        root.mkdir()
        shutil.copytree(samples_dir, root / "data")
    declared = _run(tmp_path / "declared", [{"window": {"parameter": "window"}}],
                    [{"last_days": {"parameter": "days"}}])
    assert [[status for status, _ in step] for step in declared] == [
        ["computed (with another request)", "computed"], ["read"]]
    assert declared[1][0][1] == declared[0][0][1]  # the table read is the one computed along with the first
    silent = _run(tmp_path / "silent", [{"window": {"parameter": "window"}}], None)  # the second declares nothing
    assert [[status for status, _ in step] for step in silent] == [["computed"], ["computed"]]
    assert silent[1][0][1] == declared[1][0][1]  # the same table: the declaration only changes who computes it
