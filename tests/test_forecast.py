"""Early warning: outcomes, the forecaster, its honest evaluation, its explanations and the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from commlab.analysis.panel import community_panel
from commlab.cli import main
from commlab.data.generate_fates import generate_fates, write_fates
from commlab.forecast import (
    CommunityForecaster,
    derive_outcomes,
    evaluate_forecaster,
    horizon_features,
    outcomes_from_column,
    read_outcomes,
    trim_to_outcome_window,
)
from commlab.forecast.evaluate import score_predictions
from commlab.forecast.explain import METRIC_PLAYS
from commlab.forecast.outcomes import as_outcomes
from commlab.rules import default_rules

#: The metrics the planted rule acts on, and a few it does not.
METRICS = ["members", "active_share_30d", "core_share", "ugc_share", "response_rate", "median_first_response_hours",
           "member_to_member_share", "staff_interaction_share", "lurker_share", "reciprocity"]


def _panel(d, **kw):
    tables = {"communities": d.communities, "members": d.members, "events": d.events}
    return community_panel(tables, as_of=d.as_of, metrics=METRICS, max_periods=3, **kw)


@pytest.fixture(scope="module")
def planted():
    d = generate_fates(120, young=6, members=(4, 8), seed=7)
    return d, _panel(d), as_outcomes(d.outcomes)


@parametrize_with_checks([CommunityForecaster(), CommunityForecaster(model="hgb", n_rounds=10, calibration="none")])
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_features_read_periods_up_to_k_of_communities_still_present():
    panel = pd.DataFrame({"community_id": ["a"] * 3 + ["b"] * 2 + ["c"],
                          "period": [1, 2, 3, 1, 2, 1],
                          "x": [1.0, 3.0, 5.0, 2.0, np.nan, 7.0],
                          "y": [0.0, 0.0, 9.0, 1.0, 1.0, 0.0]})
    f1 = horizon_features(panel, 1)
    assert list(f1.columns) == ["x__level", "y__level"] and list(f1.index) == ["a", "b", "c"]
    f2 = horizon_features(panel, 2)
    assert list(f2.index) == ["a", "b"]  # c has no period 2
    assert f2.loc["a", "x__trend"] == 2.0 and f2.loc["a", "y__level"] == 0.0  # period 3 (y = 9) unseen
    assert np.isnan(f2.loc["b", "x__trend"]) and np.isnan(f2.loc["b", "x__level"])
    f3 = horizon_features(panel, 3)
    assert list(f3.index) == ["a"] and f3.loc["a", "y__trend"] == pytest.approx(4.5)


def test_scores_against_hand_computed_values():
    y = np.array([1, 1, 0, 0, 0])
    p = np.array([0.9, 0.4, 0.5, 0.1, 0.1])
    s = {k: v[0] for k, v in score_predictions(y, p).items()}
    assert s["roc_auc"] == pytest.approx(5 / 6)  # pairs (pos > neg): 0.9 beats 3, 0.4 beats 2 of 3
    assert s["accuracy"] == pytest.approx(3 / 5)  # 0.9 -> 1 ok, 0.4 -> 0 wrong, 0.5 -> 1 wrong
    assert s["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert s["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert np.isnan(score_predictions(np.ones(3), np.array([0.1, 0.2, 0.3]))["roc_auc"][0])


def test_recovers_the_planted_signal_and_beats_the_baseline(planted):
    _, panel, outcomes = planted
    ev = evaluate_forecaster(panel, outcomes, at=[1, 2], n_repeats=2, n_boot=300)
    t = ev.table().set_index(["horizon", "model"])
    for k in (1, 2):
        m, b = t.loc[(k, "logit")], t.loc[(k, "baseline")]
        assert m["n"] == 120 and m["n_died"] == outcomes["outcome"].sum()
        assert m["roc_auc_lo"] > 0.5, ev.to_markdown()
        assert m["roc_auc"] > b["roc_auc_hi"]
        assert m["brier"] <= b["brier"] + 0.01  # an AUC of ~0.7 improves the Brier score a little, if at all
        # the baseline predicts the training folds' base rate: balanced accuracy 1/2, accuracy the majority share
        assert b["balanced_accuracy"] == pytest.approx(0.5)
        assert b["accuracy"] == pytest.approx(1 - m["base_rate"])
        assert abs(b["roc_auc"] - 0.5) < 0.05
    pred = ev.predictions[ev.predictions["horizon"] == 1]
    assert len(pred) == 120 and pred["p_die"].between(0, 1).all()


def test_finds_nothing_where_nothing_was_planted(planted):
    _, panel, outcomes = planted
    shuffled = outcomes.assign(outcome=np.random.default_rng(3).permutation(outcomes["outcome"].to_numpy()))
    ev = evaluate_forecaster(panel, shuffled, at=[1, 2], n_repeats=2, n_boot=300)
    # no signal: the AUC stays near 1/2 and its interval never lies above it (cross-validated AUCs of pure
    # noise lean below 1/2: a fold's test part is, by construction, a little unlike its training part)
    auc = ev.scores[(ev.scores["model"] == "logit") & (ev.scores["score"] == "roc_auc")]
    assert (auc["lo"] < 0.5).all() and ((auc["value"] - 0.5).abs() < 0.1).all(), ev.to_markdown()
    d = generate_fates(120, young=0, members=(4, 8), seed=7, planted=False)
    ev = evaluate_forecaster(_panel(d), as_outcomes(d.outcomes), at=[2], n_repeats=2, n_boot=300)
    r = ev.scores[(ev.scores["model"] == "logit") & (ev.scores["score"] == "roc_auc")].iloc[0]
    assert r["lo"] < 0.5 and abs(r["value"] - 0.5) < 0.1, ev.to_markdown()


def test_small_n_is_reported_not_hidden(planted):
    _, panel, outcomes = planted
    few = outcomes.groupby("outcome").head(3)  # 3 died, 3 survived
    ev = evaluate_forecaster(panel, few, at=[1], n_repeats=2, n_boot=100)
    h = ev.horizons.iloc[0]
    assert h["n"] == 6 and h["n_died"] == 3 and h["small_n"] and h["n_splits"] == 3
    assert "small n: 6 communities (3 died)" in h["note"]
    one = outcomes.groupby("outcome").head(1).iloc[:1].pipe(lambda o: pd.concat([o, outcomes[outcomes["outcome"]
                                                                                          != o["outcome"].iloc[0]]]))
    ev = evaluate_forecaster(panel, one, at=[1, 9], n_repeats=1, n_boot=50)
    assert ev.horizons["n_splits"].tolist() == [0, 0]
    assert "cross-validation needs at least 2 of each" in ev.horizons["note"].iloc[0]
    assert "no community with a known outcome is still in the panel at period 9" == ev.horizons["note"].iloc[1]
    assert ev.scores["value"].isna().all()
    assert "not evaluated" in ev.to_markdown()


def test_probabilities_are_calibrated_and_explanations_name_the_plays(planted):
    _, panel, outcomes = planted
    f = CommunityForecaster(horizon=2).fit(panel, outcomes)
    p = f.predict_proba(panel)[:, 1]
    assert f.calibration_ == "sigmoid" and abs(p.mean() - f.base_rate_) < 0.05
    raw = CommunityForecaster(horizon=2, calibration="none").fit(panel, outcomes).predict_proba(panel)[:, 1]
    assert abs(raw.mean() - 0.5) < abs(raw.mean() - f.base_rate_)  # balanced weights alone centre on 1/2
    assert "fitted at period 2" in repr(f)
    risk = f.risk(panel)
    assert risk["p_die"].is_monotonic_decreasing and risk["rank"].tolist() == list(range(1, len(risk) + 1))
    ex = f.explain(panel, top=2)
    assert set(ex["community_id"]) <= set(risk["community_id"]) and ex.groupby("community_id").size().max() <= 2
    assert (ex["push"] > 0).all()
    rules = {r.id: r for r in default_rules()}
    linked = ex[ex["rule_id"] != ""]
    assert len(linked) > 0
    for r in linked.itertuples():
        assert METRIC_PLAYS[r.metric] == (r.rule_id, r.side)
        assert rules[r.rule_id].action.en in r.text and r.practice in r.text
    # the planted drivers lead: staff dependence (UGC share, staff interactions), core, first replies
    top = ex[ex["driver"] == 1]["metric"].value_counts()
    assert set(top.index[:3]) & {"ugc_share", "staff_interaction_share", "core_share", "median_first_response_hours",
                                 "response_rate", "member_to_member_share"}
    zh = f.explain(panel.head(12), top=1, lang="zh")
    assert all("个百分点" in t for t in zh["text"])


def test_metric_plays_agree_with_the_rule_library():
    rules = {r.id: r for r in default_rules()}

    def conditions(node):
        if hasattr(node, "metric"):
            return [node]
        return [c for child in (node.all or node.any or []) for c in conditions(child)]

    for metric, (rule_id, side) in METRIC_PLAYS.items():
        assert rule_id in rules, f"{metric}: no rule {rule_id}"
        for c in conditions(rules[rule_id].when):
            if c.metric == metric and c.change is None and c.value not in (0, 0.0):
                assert side == ("low" if c.op in ("<", "<=") else "high"), (metric, rule_id, c.op)


def test_outcomes_from_labels_a_column_and_a_rule(planted, tmp_path):
    d, panel, _ = planted
    f = tmp_path / "o.csv"
    f.write_text("community_id,outcome\na,closed\nb,open\nc,Closed\n", encoding="utf-8")
    o = read_outcomes(f, died="closed", survived="open")
    assert o["outcome"].tolist() == [1, 0, 1]
    f.write_text("community_id,outcome\na,1\nb,0\nc,maybe\nd,\n", encoding="gbk")
    with pytest.raises(Exception, match=r"o.csv, column 'outcome': label neither died nor survived \[2 row"):
        read_outcomes(f)
    s = outcomes_from_column(pd.DataFrame({"community_id": ["x", "y"], "status": ["closed", "active"]}), "status",
                             died="closed")
    assert s["outcome"].tolist() == [1, 0]
    derived = derive_outcomes({"communities": d.communities, "members": d.members, "events": d.events},
                              as_of=d.as_of, window_days=90, min_active=1)
    truth = d.truth.set_index("community_id")
    old = derived[derived["community_id"].isin(d.outcomes["community_id"])].set_index("community_id")
    agree = (old["outcome"] == truth.loc[old.index, "died"]).mean()
    assert agree > 0.95, agree
    assert "fewer than 1 active members" in derived.attrs["rule"].text() and "last 90 days" in \
        derived.attrs["rule"].text()
    trimmed = trim_to_outcome_window(panel, derived)
    young = truth.index[truth["cohort"] == "young"]
    assert len(trimmed[trimmed["community_id"].isin(young)]) == 0  # a young community lives inside the window
    assert len(trimmed[~trimmed["community_id"].isin(young)]) == len(panel[~panel["community_id"].isin(young)])


def test_commlab_forecast_evaluate_on_a_panel_with_columns_of_its_own(planted, tmp_path, capsys):
    """A panel computed elsewhere: other ids, other column names, a text column, labels of its own."""
    _, panel, outcomes = planted
    names = {"members": "群人数", "core_share": "core_ratio", "ugc_share": "user_posts_share",
             "median_first_response_hours": "reply_wait_h", "staff_interaction_share": "admin_talk"}
    foreign = panel[["community_id", "period", *names]].rename(columns=names)
    foreign["community_id"] = "grp-" + foreign["community_id"]
    foreign["note"] = "微信群"
    foreign.to_csv(tmp_path / "panel.csv", index=False, encoding="gbk")
    outcomes.assign(community_id="grp-" + outcomes["community_id"],
                    outcome=outcomes["outcome"].map({1: "解散", 0: "正常"})).to_csv(tmp_path / "o.csv", index=False)
    code = main(["forecast", "evaluate", "--panel", str(tmp_path / "panel.csv"), "--outcomes", str(tmp_path / "o.csv"),
                 "--at", "1,2,6", "--died", "解散", "--survived", "正常", "--repeats", "2", "--boot", "200", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    res = json.loads(out)
    assert res["panel"]["metrics"] == list(names.values()) and res["panel"]["ignored_columns"] == ["note"]
    by_k = {h["horizon"]: h for h in res["horizons"]}
    assert by_k[1]["n"] == 120 and by_k[6]["n"] == 0 and by_k[6]["n_splits"] == 0
    assert by_k[1]["model"]["roc_auc"]["lo"] > 0.5
    assert set(by_k[1]["baseline"]) == {"roc_auc", "accuracy", "balanced_accuracy", "brier"}
    assert main(["forecast", "evaluate", "--panel", str(tmp_path / "panel.csv"), "--outcomes",
                 str(tmp_path / "o.csv"), "--at", "1", "--died", "解散", "--survived", "正常", "--repeats", "1",
                 "--boot", "50"]) == 0
    assert "| k | n (died) |" in capsys.readouterr().out


def test_commlab_forecast_errors_name_the_file_column_and_rows(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("group,month,x\na,1,2\n", encoding="utf-8")
    (tmp_path / "o.csv").write_text("community_id,outcome\na,died\n", encoding="utf-8")
    files = ["--panel", str(tmp_path / "p.csv"), "--outcomes", str(tmp_path / "o.csv")]
    assert main(["forecast", "evaluate", *files]) == 3
    err = capsys.readouterr().err
    assert "p.csv, column 'community_id': missing column" in err
    (tmp_path / "p.csv").write_text("community_id,period,x\na,1,2\na,zero,3\nb,1,oops\n", encoding="utf-8")
    assert main(["forecast", "evaluate", *files]) == 3
    assert "column 'period': not a whole number from 1 [1 row(s)] — row 3: 'zero'" in capsys.readouterr().err
    assert main(["forecast", "evaluate", *files, "--at", "0,2"]) == 2
    assert "--at expects whole numbers from 1" in capsys.readouterr().err
    assert main(["forecast", "evaluate", "--panel", str(tmp_path / "none.csv"), "--outcomes", "x.csv"]) == 2


def test_commlab_forecast_outcomes_from_a_rule_and_a_column(tmp_path, capsys):
    write_fates(tmp_path / "data", n_communities=10, young=2, members=(3, 5), seed=4)
    assert main(["forecast", "outcomes", str(tmp_path / "data"), "--tz", "UTC", "--as-of", "2024-02-24T16:00:00Z",
                 "--min-active", "1", "--out", str(tmp_path / "o.csv")]) == 0
    assert "2 died (died = fewer than 1 active members" in capsys.readouterr().out
    o = read_outcomes(tmp_path / "o.csv")
    assert len(o) == 12 and "window_start" in o.columns
    assert main(["forecast", "outcomes", str(tmp_path / "data"), "--from-column", "economy", "--died", "fan",
                 "--out", str(tmp_path / "o2.csv")]) == 0
    assert main(["forecast", "outcomes", str(tmp_path / "data"), "--from-column", "nope", "--died", "x",
                 "--out", str(tmp_path / "o3.csv")]) == 2


def test_commlab_generate_fates_writes_the_shipped_data_set_again(tmp_path, capsys):
    """A fresh clone can re-create data/fates, which the early-warning playbook runs on, byte for byte."""
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / "data" / "fates"
    assert main(["generate", str(tmp_path / "fates"), "--fates"]) == 0
    files = sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {"communities.csv", "members.csv", "events.parquet", "outcomes.csv",
                                       "ASSUMPTIONS.md", "truth/fates.csv", "truth/assumptions.json"}
    for f in files:
        assert (tmp_path / "fates" / f).read_bytes() == (shipped / f).read_bytes(), f
    assert "commlab generate data/fates --fates" in (shipped / "ASSUMPTIONS.md").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["generate", str(tmp_path / "other"), "--fates", "--seed", "5"]) == 0
    other = (tmp_path / "other" / "outcomes.csv").read_bytes()
    assert other != (shipped / "outcomes.csv").read_bytes()
    assert "commlab generate data/fates --fates" not in (tmp_path / "other" / "ASSUMPTIONS.md").read_text("utf-8")
    assert main(["generate", str(tmp_path / "x"), "--fates", "--scale", "2"]) == 2
    assert "--scale is for the samples" in capsys.readouterr().err


def test_commlab_panel_without_as_of_takes_the_data_s_end_or_each_site_s_180_days(tmp_path, capsys):
    """No --as-of to type by hand: the end of the data's last day, or created+180d for the Stack Exchange layout,
    said on the first line; the panel equals the one written with that --as-of given."""
    from conftest import require_shared_data

    d = tmp_path / "fates"
    write_fates(d, n_communities=16, young=2, members=(5, 7), seed=3)
    as_of = json.loads((d / "truth" / "assumptions.json").read_text(encoding="utf-8"))["as_of"]
    common = ["--metrics", "members,ugc_share", "--max-periods", "3"]
    assert main(["panel", str(d), "--out", str(tmp_path / "a.csv"), *common]) == 0
    said = capsys.readouterr().out.splitlines()[0]
    end = pd.Timestamp(as_of).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert said == f"as-of: {end} (the end of the data's last day in Asia/Shanghai; pass --as-of to change it)"
    assert main(["panel", str(d), "--out", str(tmp_path / "b.csv"), "--as-of", end, *common]) == 0
    assert "as-of:" not in capsys.readouterr().out
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()

    root = require_shared_data("se_communities_180d")
    se = ["--source", "se_180d", "--metrics", "members", "--max-periods", "2"]
    assert main(["panel", str(root), "--out", str(tmp_path / "se_a.csv"), *se]) == 0
    assert capsys.readouterr().out.startswith("as-of: created+180d (each site at its own creation + 180 days")
    assert main(["panel", str(root), "--out", str(tmp_path / "se_b.csv"), "--as-of", "created+180d", *se]) == 0
    assert (tmp_path / "se_a.csv").read_bytes() == (tmp_path / "se_b.csv").read_bytes()


def test_commlab_forecast_evaluate_shuffle_is_the_no_signal_check(planted, tmp_path, capsys):
    """--shuffle SEED evaluates on the fates permuted among the communities: what a hand-shuffled file gives."""
    _, panel, outcomes = planted
    panel.to_csv(tmp_path / "panel.csv", index=False)
    outcomes.to_csv(tmp_path / "o.csv", index=False)
    by_hand = outcomes.assign(outcome=np.random.default_rng(3).permutation(outcomes["outcome"].to_numpy()))
    by_hand.to_csv(tmp_path / "o_shuffled.csv", index=False)
    common = ["--panel", str(tmp_path / "panel.csv"), "--at", "1,2", "--repeats", "2", "--boot", "100", "--json"]
    assert main(["forecast", "evaluate", *common, "--outcomes", str(tmp_path / "o.csv"), "--shuffle", "3"]) == 0
    shuffled = json.loads(capsys.readouterr().out)
    assert main(["forecast", "evaluate", *common, "--outcomes", str(tmp_path / "o_shuffled.csv")]) == 0
    assert shuffled["horizons"] == json.loads(capsys.readouterr().out)["horizons"]
    assert shuffled["outcomes"]["shuffled_with_seed"] == 3
    assert main(["forecast", "evaluate", *common, "--outcomes", str(tmp_path / "o.csv")]) == 0
    real = json.loads(capsys.readouterr().out)
    assert real["horizons"][0]["model"]["roc_auc"]["lo"] > 0.5  # the planted signal...
    assert shuffled["horizons"][0]["model"]["roc_auc"]["lo"] < 0.5  # ...gone once the fates are shuffled
