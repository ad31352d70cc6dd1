"""The client part's content computed from a run's summaries (no kernel, no browser)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from commlab.data.load import DataSummary
from commlab.nb import data_counts
from commlab.outputs import to_jsonable
from commlab.recommend import SCHEMA
from commlab.report_view import CLIENT_ACTIONS, client_view, scope_line, scope_note


@pytest.mark.parametrize("lang,expected", [
    ("zh", "分析范围：11 个社群，9,120 名成员，365,845 条事件，2023-12-31 至 2024-06-30。"),
    ("en", "Analysed: 11 communities, 9,120 members, 365,845 events, 2023-12-31 to 2024-06-30."),
])
def test_scope_line_reads_the_data_counts_a_step_wrote(lang: str, expected: str) -> None:
    data = DataSummary(11, 9120, 365845, pd.Timestamp("2023-12-31 01:00", tz="UTC"),
                       pd.Timestamp("2024-06-30 15:00", tz="UTC"))
    assert scope_line(_written(data), lang) == expected
    # the numbers, never the English line: its words changed once and emptied the scope line (issue 23)
    reworded = {"01_overview": {"data": "11 groups; 9120 people", **_written(data)["01_overview"]}}
    assert scope_line(reworded, lang) == expected
    assert scope_line({"01_overview": {"data": str(data)}}, "en") == ""
    facts = {"schema": SCHEMA, "facts": [{"community_id": "a", "metric_id": "members", "value": 10.0},
                                         {"community_id": "b", "metric_id": "members", "value": 1200.0}]}
    assert scope_line({"recommendations": facts}, "en") == "Analysed: 2 communities, 1,210 members."
    assert scope_line({}, lang) == ""


def test_one_community_reads_in_the_singular_and_its_scorecard_says_it_is_not_coloured() -> None:
    """CollegeMsg (one community): "Analysed: 1 communities" and the legend "Colour: against the median of this
    run's communities" for a table with nothing coloured."""
    data = DataSummary(1, 1899, 59835, pd.Timestamp("2004-04-15", tz="UTC"), pd.Timestamp("2004-10-26", tz="UTC"))
    assert scope_line(_written(data), "en").startswith("Analysed: 1 community, 1,899 members")
    assert scope_line(_written(data), "zh").startswith("分析范围：1 个社群，1,899 名成员")
    facts = {"schema": SCHEMA, "facts": [{"community_id": "a", "metric_id": "members", "value": 10.0}]}
    assert scope_line({"recommendations": facts}, "en") == "Analysed: 1 community, 10 members."
    one = {"schema": SCHEMA, "facts": [{"community_id": "a", "metric_id": "members", "value": 1899.0},
                                       {"community_id": "a", "metric_id": "active_share_30d", "value": 0.1}],
           "recommendations": [], "suppressed_communities": []}
    for lang, legend in (("zh", "本次只分析了一个社群：计分卡不与其他社群比较，不着色"),
                         ("en", "One community in this run: the scorecard compares it with no other")):
        sc = client_view({"recommendations": one}, {"a": "CollegeMsg"}, lang=lang, k=5).scorecard
        assert sc.legend.startswith(legend) and not any(c.tone for c in sc.rows[0].cells)
    sc = client_view(_summary(previous=False), {"a": "甲群"}, lang="en", k=5).scorecard
    assert sc.legend.startswith("Colour: against the median of this run's communities")


def _written(data: DataSummary) -> dict:
    """The summary.json notebook 01 writes of ``data``, as the report reads it back."""
    return json.loads(json.dumps(to_jsonable({"01_overview": {"data_counts": data_counts(data)}})))


def _summary(previous: bool) -> dict:
    facts = []
    for cid, members, active, retention in (("a", 200, 0.5, 0.9), ("b", 300, 0.7, None), ("c", 3, None, None),
                                            ("d", 150, 0.6, 0.5)):
        facts += [{"community_id": cid, "metric_id": "members", "value": float(members), "suppressed": False},
                  {"community_id": cid, "metric_id": "active_share_30d", "value": active, "suppressed": cid == "c"},
                  {"community_id": cid, "metric_id": "retention_30d", "value": retention,
                   "suppressed": cid in ("b", "c")}]
    recs = [{"community_id": cid, "rule_id": rule, "severity": sev, "title": f"{rule}-{cid}", "action": "做",
             "evidence_text": f"依据 {cid}"}
            for cid, rule, sev in (("a", "r1", "high"), ("a", "r2", "high"), ("a", "r3", "high"), ("b", "r1", "high"),
                                   ("d", "r4", "medium"), ("a", "r5", "low"), ("b", "r6", "low"), ("d", "r7", "low"))]
    out = {"schema": SCHEMA, "facts": facts, "recommendations": recs, "suppressed_communities": ["c"],
           "previous": None, "changes": None, "recommendation_status": None}
    if previous:
        out["previous"] = {"as_of": "2024-05-31T16:00:00+00:00"}
        out["changes"] = [{"community_id": "a", "metric_id": "active_share_30d", "before": 0.4, "after": 0.5,
                           "change": 0.1, "better": True},
                          {"community_id": "d", "metric_id": "members", "before": 100.0, "after": 150.0,
                           "change": 50.0, "better": None}]
        out["recommendation_status"] = [{"community_id": r["community_id"], "rule_id": r["rule_id"],
                                         "status": "ongoing", "title": r["title"]} for r in recs] + [
            {"community_id": "d", "rule_id": "old", "status": "resolved", "title": "旧问题", "severity": "high"}]
    return {**_written(DataSummary(4, 653, 10, None, None)), "recommendations": out}


def test_scorecard_hides_small_groups_and_colours_against_the_median() -> None:
    view = client_view(_summary(previous=False), {"a": "甲群", "b": "乙群", "c": "丙群"}, lang="zh", k=5)
    sc = view.scorecard
    assert sc.columns == ["成员数", "30日活跃率", "新成员30日留存率"]
    rows = {r.community: r for r in sc.rows}
    assert list(rows) == ["甲群", "乙群", "丙群", "d"]  # an id where the name is missing
    assert [c.text for c in rows["甲群"].cells] == ["200", "50%", "90%"]
    assert [c.text for c in rows["乙群"].cells] == ["300", "70%", "隐藏"]  # a hidden value, not a missing one
    assert [c.text for c in rows["丙群"].cells] == ["3", "隐藏", "隐藏"] and "少于 5 人" in rows["丙群"].note
    # medians over the communities shown (a, b, d): active 60 %, so a is worse, b better, d at the median
    assert [c.tone for c in rows["甲群"].cells][1:] == ["bad", "good"] and rows["d"].cells[1].tone == ""
    assert sc.hidden_note.startswith("隐藏：所代表的成员少于 5 人，为保护隐私不显示（1 个数值")
    assert "无数据" not in sc.hidden_note  # every value is there or hidden: no "no data" note
    assert view.first_run and view.changes is None and view.scope == "分析范围：4 个社群，653 名成员。"


@pytest.mark.parametrize("lang,none,hidden,hidden_note,none_note", [
    ("zh", "无数据", "隐藏", "隐藏：所代表的成员少于 5 人，为保护隐私不显示", "无数据：无法计算"),
    ("en", "no data", "hidden", "hidden: standing for fewer than 5 members, not shown for privacy",
     "no data: cannot be computed"),
])
def test_a_value_that_cannot_be_computed_reads_apart_from_a_hidden_one(lang, none, hidden, hidden_note,
                                                                        none_note) -> None:
    """A response rate with no questions and a hidden retention read "–" and "—" before: alike, and "—" looks like
    the character 一 in a CJK font. Now two words, each explained under the scorecard."""
    summary = _summary(previous=False)
    for f in summary["recommendations"]["facts"]:
        if f["community_id"] == "d" and f["metric_id"] == "retention_30d":
            f["value"] = None  # not suppressed: nothing to compute it from
    sc = client_view(summary, {}, lang=lang, k=5).scorecard
    rows = {r.community: r for r in sc.rows}
    assert [c.text for c in rows["b"].cells][2] == hidden and [c.text for c in rows["d"].cells][2] == none
    assert not rows["d"].cells[2].numeric and not rows["b"].cells[2].numeric
    assert sc.hidden_note.startswith(hidden_note) and none_note in sc.hidden_note


def test_the_scope_counts_members_as_the_scorecard_does_and_says_what_it_leaves_out() -> None:
    """The Cardano import: 3,988 accounts in the data, 3,987 members on the scorecard (the "Community" bot)."""
    data = DataSummary(1, 3988, 4363, pd.Timestamp("2021-04-27 03:00", tz="UTC"), pd.Timestamp("2021-12-04", tz="UTC"))
    facts = {"schema": SCHEMA, "facts": [{"community_id": "a", "metric_id": "members", "value": 3987.0}]}
    summary = {**_written(data), "recommendations": facts}
    assert scope_line(summary, "zh") == "分析范围：1 个社群，3,987 名成员，4,363 条事件，2021-04-27 至 2021-12-04。"
    assert scope_line(summary, "en") == "Analysed: 1 community, 3,987 members, 4,363 events, 2021-04-27 to 2021-12-04."
    assert scope_note(summary, "zh") == ("成员数与计分卡口径一致（分析时点在群内的普通成员）；"
                                         "数据中另有 1 个官方、机器人、已退出或分析时点后加入的账号。")
    assert scope_note(summary, "en").endswith("the data hold 1 more accounts: staff, bots, members who left or "
                                              "joined later.")
    view = client_view(summary, {}, lang="en")
    assert view.scope == scope_line(summary, "en") and view.scope_note == scope_note(summary, "en")
    facts["facts"][0]["value"] = None  # unknown for a community: the data's count, said as it is
    assert scope_line(summary, "en").startswith("Analysed: 1 community, 3,988 members, 4,363 events")
    assert scope_note(summary, "en") == ""


@pytest.mark.parametrize("top", [1, 3, 8, 20])
def test_the_playbook_chooses_how_many_actions_the_client_part_shows(top: int) -> None:
    view = client_view(_summary(previous=False), {}, lang="en", top_actions=top)
    assert len(view.actions) == min(top, 8) and view.actions_more == 8 - min(top, 8)
    assert [a.title for a in view.actions] == ["r1-a", "r1-b", "r2-a", "r3-a", "r4-d", "r5-a", "r6-b", "r7-d"][:top]


@pytest.mark.parametrize("top", [0, 21, -1, 2.5, True])
def test_top_actions_out_of_bounds_is_refused(top) -> None:
    from commlab.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="top_actions must be a whole number from 1 to 20"):
        client_view(_summary(previous=False), {}, lang="en", top_actions=top)


def test_actions_put_each_communitys_worst_first_and_all_stay_in_the_appendix() -> None:
    view = client_view(_summary(previous=False), {}, lang="en")
    assert [a.title for a in view.actions] == ["r1-a", "r1-b", "r2-a", "r3-a", "r4-d", "r5-a"][:CLIENT_ACTIONS]
    assert view.actions[0].severity_label == "high" and view.actions[0].evidence == "依据 a"
    assert view.actions_more == 2 and len(view.all_actions) == 8


def test_changes_since_the_previous_run() -> None:
    view = client_view(_summary(previous=True), {"a": "甲群"}, lang="en")
    ch = view.changes
    assert not view.first_run and ch.previous_as_of == "2024-05-31"
    assert ch.counts == [("new", 0), ("ongoing", 8), ("resolved", 1)]
    assert [(a.community, a.title) for a in ch.resolved] == [("d", "旧问题")]
    assert [(m.community, m.metric, m.before, m.after, m.change, m.tone) for m in ch.moves] == [
        ("d", "members", "100", "150", "+50", ""), ("甲群", "30-day active share", "40%", "50%", "+10%", "good")]
    rows = {r.community: r for r in view.scorecard.rows}
    assert rows["甲群"].cells[1].delta == "↑10%" and rows["甲群"].cells[1].delta_tone == "up"
    assert all(a.status_label == "ongoing" for a in view.all_actions)


def test_without_an_executive_summary_only_the_scope_is_shown() -> None:
    view = client_view(_written(DataSummary(2, 5, 0, None, None)), {}, lang="en")
    assert not view.has_summary and view.scorecard is None and view.scope == "Analysed: 2 communities, 5 members."


def test_the_goal_and_platform_sentences_stand_under_the_scorecard_escaped(tmp_path) -> None:
    """The executive summary's goal note and platform sentences reach the client part (the appendix
    drops notebook 05's own section, which showed them), as text: a hostile name stays literal."""
    import nbformat

    from commlab.report import ReportSection, render_report

    summary = _summary(previous=False)
    recs = summary["recommendations"]
    recs["goal_note"] = "未说明目标的社群：<img src=x onerror=alert(1)>露营群。"
    recs["platform_notes"] = [{"community_id": "a", "text": "甲群 横跨Discord和微信：51% 在Discord（主战场）。"},
                              {"community_id": "b", "text": " "}]
    view = client_view(summary, {"a": "甲群"}, lang="zh", k=5)
    assert view.notes == [recs["goal_note"], recs["platform_notes"][0]["text"]]
    assert client_view(_summary(previous=False), {}, lang="zh", k=5).notes == []
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 执行摘要\n\nx")])
    nbformat.write(nb, tmp_path / "05.ipynb")
    page = render_report([ReportSection(tmp_path / "05.ipynb", step="recommendations")], title="t", lang="zh",
                         summary=summary)
    scorecard = page[page.index('<section class="cl-section" id="scorecard">'):page.index('id="actions"')]
    assert '<p class="cl-scorecard-note">未说明目标的社群：&lt;img src=x onerror=alert(1)&gt;露营群。</p>' in scorecard
    assert "51% 在Discord（主战场）" in scorecard and "<img src=x" not in page


def test_report_title_names_the_data_given_for_the_run() -> None:
    """Issue 21: the demo playbook's title ("commlab 演示：社群运营诊断") headed the reports of Cardano and
    CollegeMsg run with ``--data``. On data given for the run, a playbook without a report title gets
    one naming the communities; its own data, or a report title it sets, keep theirs."""
    from commlab.report_view import report_title

    one = pd.DataFrame({"community_id": ["se_cardano_xml"], "name": ["Cardano Stack Exchange"]})
    demo = "commlab 演示：社群运营诊断"
    assert report_title(None, demo, one, "zh", data_given=True) == "Cardano Stack Exchange：社群运营诊断"
    assert report_title(None, "commlab demo", one, "en", data_given=True) == \
        "Cardano Stack Exchange: community operations diagnosis"
    assert report_title(None, demo, one, "zh") == demo  # the playbook's own data
    assert report_title("给客户A的诊断", demo, one, "zh", data_given=True) == "给客户A的诊断"  # report: {title: ...}
    three = pd.DataFrame({"community_id": ["c1", "c2", "c3"], "name": ["读书会", "读书会", "跑团"]})
    three.loc[2, "name"] = None
    assert report_title(None, demo, three, "zh", data_given=True) == "读书会等 3 个社群：社群运营诊断"
    many = pd.DataFrame({"community_id": ["c1", "c2", "c3"], "name": ["读书会", "跑团", "<b>茶</b>"]})
    assert report_title(None, demo, many, "zh", data_given=True) == "读书会等 3 个社群：社群运营诊断"
    assert report_title(None, demo, many, "en", data_given=True) == \
        "读书会 and 2 more communities: community operations diagnosis"
    ids = pd.DataFrame({"community_id": ["collegemsg"]})
    assert report_title(None, demo, ids, "en", data_given=True) == "collegemsg: community operations diagnosis"
    assert report_title(None, demo, None, "en", data_given=True) == demo


@pytest.mark.parametrize("lang,hidden,none", [("zh", "隐藏", "无数据"), ("en", "hidden", "no data")])
def test_appendix_tables_say_hidden_and_no_data_in_words(lang: str, hidden: str, none: str) -> None:
    """Issue 21: the appendix tables wrote "—" (hidden for privacy) and "–" (no value), two dashes that look
    alike; they now read as the scorecard does, and the suppression note under a table names the word."""
    from commlab.privacy import SUPPRESSED, suppression_note
    from commlab.report import dash_words

    cells = (f'<table><tr><td class="data row0 col1">{SUPPRESSED}</td><td> – </td><td>1–3</td>'
             '<td>—12</td><th>—</th></tr></table>')
    out = str(dash_words(cells, lang))
    assert out.count(f'<span class="cl-na">{hidden}</span>') == 1
    assert out.count(f'<span class="cl-na">{none}</span>') == 1
    assert "<td>1–3</td><td>—12</td><th>—</th>" in out  # dashes inside a value or a heading stay
    note = str(dash_words(suppression_note(2, 5, lang), lang))
    assert SUPPRESSED not in note and (f"“{hidden}”" if lang == "zh" else f'"{hidden}"') in note


def test_dash_words_escape_the_word_and_keep_the_cell_tags(monkeypatch):
    """The word written into a dash cell is text: were a translation to hold markup, it is escaped, while the
    cell's own tags (nbconvert's) stay markup."""
    import commlab.report as report

    monkeypatch.setattr(report, "t", lambda key, lang: "<b>&x</b>")
    out = str(report.dash_words('<td class="data row0">—</td>', "en"))
    assert out == '<td class="data row0"><span class="cl-na">&lt;b&gt;&amp;x&lt;/b&gt;</span></td>'
