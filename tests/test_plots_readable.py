"""Every report figure is readable where it is shown, in one language, and described by its alt text.

The report's narrowest content column is :data:`CONTENT_PX` (1,060) CSS px wide in a 1280 px window; a figure
is shown at its natural width (``commlab.plots.show``: one figure inch = 100 CSS px) or shrunk to
the column. Each test draws a figure as the notebooks do, with realistic labels (the samples'
long Chinese community names, all 48 registered metrics), and measures every text it draws:
font size in points × 100 / 72 × display scale must be at least :data:`MIN_TEXT_PX` (9 px).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from commlab.plots import setup_fonts  # noqa: E402

setup_fonts()  # as a notebook does (importing commlab.plots changes no matplotlib setting)

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from commlab.plots.show import CONTENT_PX, MIN_TEXT_PX, alt_text, drawn_texts, render  # noqa: E402
from visible import chinese_chars, english_words, without  # noqa: E402

NAMES = ["咖啡爱好者交流群", "胶片摄影同好会", "云朵家电官方粉丝群", "Python数据分析学习营", "灵感AI笔记内测群",
         "跨境电商从业者交流会", "宝妈好物团购群", "21天健身训练营", "周末露营搭子群", "独立开发者俱乐部",
         "城市骑行同好群"]
AS_OF = "2024-06-30T16:00:00Z"


@pytest.fixture(scope="module")
def samples():
    from commlab.analysis.overview import daily_activity, weekday_hour
    from commlab.data import load_dataset
    from conftest import SAMPLES

    ds = load_dataset(SAMPLES, tz="Asia/Shanghai")
    names = dict(zip(ds.communities["community_id"], ds.communities["name"], strict=True))
    return {"daily": daily_activity(ds, as_of=AS_OF), "weekday_hour": weekday_hour(ds, as_of=AS_OF), "names": names}


def _metrics(rows: list[str], seed: int = 0) -> pd.DataFrame:
    from commlab.analysis.metrics import list_metrics

    rng = np.random.default_rng(seed)
    ids = [m.id for m in list_metrics()]
    return pd.DataFrame(rng.random((len(rows), len(ids))) * [1000 if m == "members" else 1 for m in ids],
                        index=rows, columns=ids)


def _graph(n: int, seed: int) -> nx.DiGraph:
    g = nx.gnp_random_graph(n, 0.08, seed=seed, directed=True)
    nx.set_edge_attributes(g, 1, "weight")
    nx.set_node_attributes(g, {i: i < 2 for i in g.nodes}, "staff")
    return nx.relabel_nodes(g, {i: f"m{i}" for i in g.nodes})


def _segments():
    from commlab.analysis.roles import ROLE_ORDER

    segs = pd.DataFrame({"segment": range(8), "name_zh": [f"活跃贡献者 {i}" for i in range(8)],
                         "name_en": [f"active contributor {i}" for i in range(8)]})
    feats = ["tenure_days", "recency_days", "ugc", "ugc_30d", "partners_in", "n_reaction", "purchases",
             "first_week_events"]
    rng = np.random.default_rng(1)
    profile = pd.DataFrame(rng.normal(size=(8, 8)), columns=[f"z_{f}" for f in feats])
    profile["size"] = [2547, 1682, 1544, 954, 739, 724, 666, 3]
    profile["share"] = profile["size"] / profile["size"].sum()
    roles = list(ROLE_ORDER)
    return segs, profile, roles, rng


def figure(name: str, lang: str, samples) -> plt.Figure:  # noqa: C901 - one branch per figure
    """Draw the figure ``name`` as a notebook does."""
    from commlab.analysis.compare import normalise
    from commlab.plots import health, overview, segments

    if name == "daily_3":
        daily = samples["daily"][samples["daily"]["community_id"].isin(["c01", "c03", "c04"])]
        return overview.plot_daily_activity(daily, samples["names"], lang=lang).figure
    if name == "daily_11":
        return overview.plot_daily_activity(samples["daily"], samples["names"], lang=lang).figure
    if name == "weekday_hour":
        return overview.plot_weekday_hour(samples["weekday_hour"], lang=lang).figure
    if name == "health_heatmap":
        values = _metrics(NAMES)
        return health.plot_metric_heatmap(normalise(values), values=values, lang=lang).figure
    if name == "fingerprint":
        types = ["品牌型", "消费型", "行业型", "兴趣型", "知识型/学习型", "产品型"] if lang == "zh" else [
            "brand", "consumption", "industry", "interest", "knowledge/learning", "product"]
        fp = _metrics(types).clip(0, 1).assign(n=[1, 1, 2, 4, 2, 1])
        return health.plot_fingerprint(fp, lang=lang).figure
    if name == "economy":
        rng = np.random.default_rng(2)
        table = pd.DataFrame({"economy_index": rng.random(11), "economy": ["fan", "community"] * 5 + ["fan"]},
                             index=NAMES)
        return health.plot_economy_index(table, lang=lang).figure
    if name == "high_value":
        rng = np.random.default_rng(3)
        profile = pd.DataFrame(rng.random((11, 3)), index=NAMES,
                               columns=["vertical_focus", "problem_solving", "trust_ties"])
        return health.plot_high_value(profile, lang=lang).figure
    if name == "cohort":
        rng = np.random.default_rng(4)
        matrix = pd.DataFrame(rng.random((7, 7)), index=[f"2024-0{i} ({40 + i})" for i in range(1, 8)],
                              columns=range(7))
        return health.plot_cohort_retention(matrix, title=NAMES[4], lang=lang).figure
    if name == "network":
        return health.plot_network_pair([(_graph(120, 1), f"{NAMES[4]} (0.28)"),
                                         (_graph(120, 2), f"{NAMES[5]} (0.86)")], lang=lang)[0].figure
    segs, profile, roles, rng = _segments()
    if name == "k_scores":
        ks = pd.DataFrame({"k": range(3, 9), "score": rng.random(6), "metric": "silhouette"})
        return segments.plot_k_scores(ks, 8, lang=lang).figure
    if name == "sizes":
        return segments.plot_segment_sizes(profile, segs, lang=lang, k=5).figure
    if name == "profile":
        return segments.plot_profile_heatmap(profile, segs, lang=lang, k=5).figure
    if name == "projection":
        return segments.plot_projection(rng.normal(size=(3000, 2)), rng.integers(0, 8, 3000), segs, lang=lang).figure
    if name == "crosstab":
        from commlab.analysis.roles import ROLE

        seg_names = [f"活跃贡献者 {i}" if lang == "zh" else f"active contributor {i}" for i in range(8)]
        table = pd.DataFrame(rng.integers(0, 2000, (len(roles), 8)), index=[ROLE.label(r, lang) for r in roles],
                             columns=seg_names)
        return segments.plot_crosstab(table, lang=lang, k=5).figure
    if name == "transitions":
        matrix = pd.DataFrame(rng.integers(0, 500, (len(roles) + 1, len(roles))), index=roles + ["joined"],
                              columns=roles)
        return segments.plot_transition_heatmap(matrix, lang=lang, k=5).figure
    if name == "p_alive":
        return segments.plot_p_alive(rng.random(5000), 0.5, lang=lang).figure
    if name == "stability":
        return segments.plot_stability(np.array([0.99, 0.98, 1.0, 0.97]), lang=lang).figure
    raise KeyError(name)


FIGURES = ["daily_3", "daily_11", "weekday_hour", "health_heatmap", "fingerprint", "economy", "high_value", "cohort",
           "network", "k_scores", "sizes", "profile", "projection", "crosstab", "transitions", "p_alive", "stability"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", FIGURES)
def test_text_is_at_least_9_px_where_the_figure_is_shown(name, lang, samples):
    fig = figure(name, lang, samples)
    _, width, texts = render(fig)
    plt.close(fig)
    assert texts, "the figure draws some text"
    assert width <= CONTENT_PX, f"{name} is {width} px wide: the report would shrink it"
    scale = min(1.0, CONTENT_PX / width)
    small = [(t.text, round(t.px(scale), 1)) for t in texts if t.px(scale) < MIN_TEXT_PX]
    assert not small, f"{name}: text under {MIN_TEXT_PX} px at display size: {small[:5]}"


@pytest.mark.parametrize("name", FIGURES)
def test_tick_labels_are_never_upright_nor_run_into_each_other(name, samples):
    fig = figure(name, "zh", samples)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        upright = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()
                   if t.get_visible() and t.get_text().strip() and t.get_rotation() % 180 == 90]
        assert not upright, f"{name}: labels turned on their side: {upright[:3]}"
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            # level labels only: the boxes of slanted ones overlap where their letters do not
            boxes = [t.get_window_extent(renderer) for t in labels
                     if t.get_visible() and t.get_text().strip() and t.get_rotation() == 0]
            clash = [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes[i + 1:], i + 1)
                     if a.overlaps(b)]
            assert not clash, f"{name}: tick labels overlap: {[labels[i].get_text() for i, _ in clash[:3]]}"
    plt.close(fig)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", FIGURES)
def test_texts_and_alt_text_are_in_one_language(name, lang, samples):
    fig = figure(name, lang, samples)
    texts = " ".join(t.text for t in drawn_texts(fig))
    alt = alt_text(fig)
    plt.close(fig)
    assert alt.strip() and "No description" not in alt
    data_names = NAMES + list(samples["names"].values())
    for text in (texts, alt):
        rest = without(text, data_names)
        if lang == "zh":
            assert not english_words(rest), (name, english_words(rest))
        else:
            assert not chinese_chars(rest), (name, chinese_chars(rest))
    assert alt.startswith(("折线图", "热力图", "条形图", "网络图", "散点图", "直方图") if lang == "zh" else
                          ("Line chart", "Heatmap", "Bar chart", "Network diagram", "Scatter plot", "Dot plot",
                           "Histogram")), alt


def test_daily_activity_gives_each_community_its_own_colour_or_panel(samples):
    from commlab.plots.palette import colour_distance

    fig = figure("daily_3", "zh", samples)
    ax = fig.axes[0]
    colours = [line.get_color() for line in ax.get_lines()]
    assert len(colours) == 3
    assert min(colour_distance(a, b) for i, a in enumerate(colours) for b in colours[i + 1:]) > 20
    plt.close(fig)
    for n in (6, 10, 20):  # the palette itself keeps communities apart
        from commlab.plots.palette import community_colors

        pal = community_colors(n)
        assert len(set(pal)) == n and min(colour_distance(a, b) for i, a in enumerate(pal) for b in pal[i + 1:]) > 10
    # eleven communities: a panel each, named in its title (no colour has to be matched with a legend)
    fig = figure("daily_11", "zh", samples)
    titled = [a.get_title(loc="left") for a in fig.axes if a.get_visible() and a.get_lines()]
    assert sorted(titled) == sorted(samples["names"].values())
    assert not any(a.get_legend() for a in fig.axes)
    plt.close(fig)


@pytest.mark.parametrize("name", ["daily_3", "high_value", "economy", "network", "projection"])
def test_legends_cover_no_data(name, samples):
    fig = figure(name, "en", samples)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [a.get_legend() for a in fig.axes if a.get_legend()] + list(fig.legends)
    assert legends
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.get_visible() and ax.axison:  # a network drawing has no axes frame: its nodes are its data
                assert not box.overlaps(ax.get_window_extent(renderer)), f"{name}: the legend sits on the data"
            elif ax.get_visible():
                points = np.concatenate([ax.transData.transform(c.get_offsets()) for c in ax.collections
                                         if len(c.get_offsets())] or [np.empty((0, 2))])
                covered = [p for p in points if box.contains(*p)]
                assert len(points) and not covered, f"{name}: the legend covers nodes"
    plt.close(fig)


def test_weekday_and_metric_labels_are_horizontal(samples):
    fig = figure("weekday_hour", "zh", samples)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert all(t.get_rotation() == 0 for t in ax.get_yticklabels() + ax.get_xticklabels())
    plt.close(fig)
    from commlab.analysis.metrics import list_metrics

    for name in ("health_heatmap", "fingerprint"):
        fig = figure(name, "en", samples)
        labels = fig.axes[0].get_yticklabels()
        directional = [m for m in list_metrics() if m.direction is not None]  # green = better means nothing else
        assert len(labels) == len(directional) > 40 and all(t.get_rotation() == 0 for t in labels)  # metric rows
        assert "members" not in [t.get_text() for t in labels]
        plt.close(fig)


# --- the client part's figures drawn a second time for a phone (issue 21: 3-4 px text at 390 px before) ------


def phone_figure(name: str, lang: str, samples) -> plt.Figure:
    """The phone rendering of a client figure, as notebooks 01 and 03 draw it (``phone=True``)."""
    from commlab.plots import health, overview

    if name == "daily_1":
        daily = samples["daily"][samples["daily"]["community_id"] == "c04"]
        return overview.plot_daily_activity(daily, samples["names"], lang=lang, phone=True).figure
    if name == "daily_3":
        daily = samples["daily"][samples["daily"]["community_id"].isin(["c01", "c03", "c04"])]
        return overview.plot_daily_activity(daily, samples["names"], lang=lang, phone=True).figure
    if name == "daily_11":
        return overview.plot_daily_activity(samples["daily"], samples["names"], lang=lang, phone=True).figure
    rng = np.random.default_rng(2)
    table = pd.DataFrame({"economy_index": rng.random(11), "economy": ["fan", "community"] * 5 + ["fan"]}, index=NAMES)
    return health.plot_economy_index(table, lang=lang, phone=True).figure


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", ["daily_1", "daily_3", "daily_11", "economy"])
def test_phone_rendering_keeps_text_at_least_9_px_in_a_phone_column(name, lang, samples):
    from commlab.plots.show import PHONE_PX

    fig = phone_figure(name, lang, samples)
    _, width, texts = render(fig)
    plt.close(fig)
    # shown 1:1 in a 390 px window (column 364 px); at most a little shrunk in a 360 px one (334 px)
    assert 250 <= width <= 364, f"{name}: {width} px wide"
    scale = min(1.0, PHONE_PX / width)
    small = [(t.text, round(t.px(scale), 1)) for t in texts if t.px(scale) < MIN_TEXT_PX]
    assert texts and not small, f"{name}: text under {MIN_TEXT_PX} px on a 360 px phone: {small[:5]}"
    desktop = figure(name if name != "daily_1" else "daily_3", lang, samples)
    assert alt_text(desktop) and alt_text(fig)  # described like the desktop figure
    plt.close(desktop)


def test_phone_daily_activity_draws_two_panels_a_row_and_at_most_twelve(samples):
    from commlab.plots.overview import PHONE_COLUMNS, PHONE_MAX_PANELS

    fig = phone_figure("daily_11", "zh", samples)
    visible = [a for a in fig.axes if a.get_visible()]
    shown = min(samples["daily"]["community_id"].nunique(), PHONE_MAX_PANELS)  # the samples hold 12 since d6dfca1
    assert len(visible) == shown and len({round(a.get_position().x0, 2) for a in visible}) == PHONE_COLUMNS
    plt.close(fig)
    names = {f"c{i:03d}": f"社群{i}" for i in range(30)}
    days = pd.date_range("2024-01-01", periods=30, freq="D")
    daily = pd.DataFrame([(d, c, i + 1) for i, c in enumerate(names) for d in days],
                         columns=["date", "community_id", "active_members"])
    from commlab.plots.overview import plot_daily_activity

    fig = plot_daily_activity(daily, names, lang="en", phone=True).figure
    assert len([a for a in fig.axes if a.get_visible()]) == PHONE_MAX_PANELS
    assert f"the {PHONE_MAX_PANELS} most active of 30 communities" in fig.get_suptitle()
    plt.close(fig)
