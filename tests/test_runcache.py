"""Engine tables computed once per run: the second ask reads the Parquet file, and gets the same table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from commlab.data import load_dataset
from commlab.data.cache import CACHE_ENV, table_log
from commlab.engines import DuckDBEngine
from conftest import REPO

AS_OF = "2024-06-30T16:00:00Z"


@pytest.fixture()
def cached(tmp_path, samples_dir, monkeypatch):
    """The samples (two communities) loaded into a data cache, as a notebook of a run reads them."""
    cache = tmp_path / "cache"
    load_dataset(samples_dir, cache=cache)  # the runner's load, before the notebooks: validates and stores the data
    ds = load_dataset(samples_dir, communities=["c01", "c04"], cache=cache)
    assert not ds.events_loaded
    return cache, ds


def test_features_and_metrics_are_computed_once_then_read(cached, samples_dir, monkeypatch):
    cache, ds = cached
    eng = DuckDBEngine()
    feats = eng.member_features(ds.events_source, ds.members, as_of=AS_OF)
    metrics = eng.compute_metrics(ds, as_of=AS_OF, window="month")
    assert [(e["kind"], e["status"]) for e in table_log(cache)[0]] == [("member_features", "computed"),
                                                                        ("metrics", "computed")]
    offset = table_log(cache)[1]

    def no_query(*args, **kwargs):
        raise AssertionError("the engine queried the events again")

    monkeypatch.setattr(DuckDBEngine, "connect", no_query)
    again = load_dataset(samples_dir, communities=["c01", "c04"], cache=cache)  # a later notebook
    pd.testing.assert_frame_equal(DuckDBEngine().member_features(again.events_source, again.members, as_of=AS_OF),
                                  feats, check_exact=True)
    pd.testing.assert_frame_equal(DuckDBEngine().compute_metrics(again, as_of=AS_OF, window="month"), metrics,
                                  check_exact=True)
    assert [(e["kind"], e["status"]) for e in table_log(cache, start=offset)[0]] == [("member_features", "read"),
                                                                                      ("metrics", "read")]


def test_other_parameters_or_inputs_compute_anew(cached):
    cache, ds = cached
    eng = DuckDBEngine()
    eng.compute_metrics(ds, as_of=AS_OF, window="month", metrics=["members"])
    eng.compute_metrics(ds, as_of=AS_OF, window=None, metrics=["members"])  # another window
    eng.compute_metrics(ds, as_of="2024-05-31", window="month", metrics=["members"])  # another instant
    eng.compute_metrics(ds.subset(["c01"]), as_of=AS_OF, window="month", metrics=["members"])  # other communities
    members = ds.members.copy()
    members.loc[members.index[0], "role"] = "admin" if members["role"].iloc[0] != "admin" else "member"
    eng.member_features(ds.events_source, ds.members, as_of=AS_OF)
    eng.member_features(ds.events_source, members, as_of=AS_OF)  # one member's role changed
    log = table_log(cache)[0]
    assert [e["status"] for e in log] == ["computed"] * 6
    assert len({e["key"] for e in log}) == 6


def test_nothing_is_cached_outside_a_run(samples_dir, monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))  # not read below the boundary: the load is given no cache
    ds = load_dataset(samples_dir, communities=["c01"])
    DuckDBEngine().member_features(ds.events_source, ds.members, as_of=AS_OF)
    assert table_log(tmp_path)[0] == []
    assert not (tmp_path / "tables").exists()


@pytest.mark.slow
@pytest.mark.notebook
def test_a_later_step_reads_the_metrics_an_earlier_step_computed(tmp_path, samples_dir):
    """Two type comparisons (theme, then business model) in one run: the metrics are computed once.

    Real papermill kernels; the run's manifest records, per step, the engine tables it computed or read.
    """
    import json
    import shutil

    import yaml

    from commlab.runner import run_playbook

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "playbooks").mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "notebooks" / "04_compare_types.ipynb", tmp_path / "notebooks")
    nb = "../notebooks/04_compare_types.ipynb"
    pb = {"name": "two-axes", "title": "Two axes", "data": str(samples_dir),
          "parameters": {"as_of": AS_OF, "lang": "en", "communities": ["c01", "c02", "c03", "c04", "c05", "c06"]},
          "steps": [{"notebook": nb, "name": "theme", "parameters": {"type_axis": "theme"}},
                    {"notebook": nb, "name": "model", "parameters": {"type_axis": "business_model"}}],
          "report": {"lang": "en"}}
    path = tmp_path / "playbooks" / "two.yaml"
    path.write_text(yaml.safe_dump(pb, allow_unicode=True), encoding="utf-8")
    run = run_playbook(path, runs_dir=tmp_path / "runs")
    steps = {s["name"]: s for s in json.loads((run.run_dir / "manifest.json").read_text())["steps"]}
    metrics = lambda name: [e for e in steps[name]["tables"] if e["kind"] == "metrics"]  # noqa: E731
    (first,), (second,) = metrics("theme"), metrics("model")
    assert (first["status"], second["status"]) == ("computed", "read")
    assert first["key"] == second["key"] and first["rows"] == second["rows"] > 0
    theme = json.loads((run.run_dir / "theme" / "summary.json").read_text())
    model = json.loads((run.run_dir / "model" / "summary.json").read_text())
    assert theme["metric_table"] and len(theme["metric_table"]) == len(model["metric_table"])


def test_declared_period_sets_are_computed_in_one_pass_and_equal_cold_computations(cached, samples_dir, monkeypatch):
    """The demo's three period sets (months, the whole span, the last 30 days), as its notebooks declare them in
    their metadata: one pass, each equal to a cold call."""
    from commlab.engines.runcache import declare_period_sets
    from commlab.plan import plan_run
    from commlab.playbook import load_playbook

    cache, ds = cached
    plans = plan_run(load_playbook(REPO / "playbooks" / "demo.yaml"))
    sets = [s for plan in plans for s in plan.period_sets()]
    assert sets == [{"window": "month", "last_days": None}, {"window": None, "last_days": None},
                    {"window": None, "last_days": 30}]
    declare_period_sets(cache, sets)
    from commlab.analysis.periods import resolve_as_of
    ends = resolve_as_of(AS_OF, ds.communities)
    requests = [dict(as_of=AS_OF, window="month"), dict(as_of=AS_OF, window=None),
                dict(as_of=ends, window=None, start=ends - pd.Timedelta(days=30))]  # as notebook 05 spells it
    first = DuckDBEngine().compute_metrics(ds, **requests[0])
    log = table_log(cache)[0]
    assert [(e["kind"], e["status"]) for e in log] == [("metrics", "computed (with another request)")] * 2 + [
        ("metrics", "computed")]
    offset = table_log(cache)[1]
    later = [DuckDBEngine().compute_metrics(load_dataset(samples_dir, communities=["c01", "c04"], cache=cache), **r)
             for r in requests[1:]]
    assert [e["status"] for e in table_log(cache, start=offset)[0]] == ["read", "read"]
    assert [e["key"] for e in table_log(cache, start=offset)[0]] == [e["key"] for e in log[:2]]
    cold_ds = load_dataset(samples_dir, communities=["c01", "c04"])  # cold: outside a run (no cache), each set alone
    for got, request in zip([first, *later], requests, strict=True):
        cold = DuckDBEngine().compute_metrics(cold_ds, **request)
        assert len(cold) > 0 and cold["value"].notna().sum() > 0
        pd.testing.assert_frame_equal(got, cold, check_exact=True)


@pytest.mark.slow
@pytest.mark.notebook
def test_the_demo_steps_compute_their_metric_tables_once_then_read_them(tmp_path, samples_dir):
    """The demo playbook (its five notebooks, as shipped) in one real papermill run, on two communities: notebook 03
    computes every period set the notebooks declare, 04 and 05 read theirs; no table of the run is computed twice."""
    import json

    from commlab.runner import run_playbook

    run = run_playbook(REPO / "playbooks" / "demo.yaml", runs_dir=tmp_path / "runs",
                       overrides={"communities": "[c01, c04]", "lang": "en"})
    every = json.loads((run.run_dir / "manifest.json").read_text())["steps"]
    assert [s["name"] for s in every][2:] == ["03_community_health", "04_compare_types", "recommendations"]
    assert ("member_features", "computed") in [(e["kind"], e["status"]) for e in every[1]["tables"]]
    metrics = [[(e["status"], e["key"]) for e in s["tables"] if e["kind"] == "metrics"] for s in every[2:]]
    assert [[status for status, _ in m] for m in metrics] == [
        ["computed (with another request)", "computed (with another request)", "computed"], ["read"], ["read"]]
    computed = {key for _, key in metrics[0]}
    assert {key for m in metrics[1:] for _, key in m} <= computed and len(computed) == 3
    # every table of the run (of any kind) computed once: a later ask of the same key reads it
    made = [(e["kind"], e["key"]) for s in every for e in s["tables"] if e["status"].startswith("computed")]
    read = [(e["kind"], e["key"]) for s in every for e in s["tables"] if e["status"] == "read"]
    assert len(made) == len(set(made)) and set(read) <= set(made)
