"""User-facing text in Chinese and English.

Labels of data vocabularies live in :mod:`commlab.data.schema`; this module holds the
other words figures, tables and reports use. ``t("members", "zh")`` returns ``"成员数"``.
"""

from __future__ import annotations

from commlab.errors import InvalidArgument

__all__ = ["LANGS", "t", "check_lang"]

LANGS: tuple[str, ...] = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "community": ("社群", "community"),
    "community_id": ("社群ID", "community id"),
    "name": ("名称", "name"),
    "members": ("成员数", "members"),
    "staff": ("管理员/官方账号", "staff / official accounts"),
    "active_7d": ("7日活跃成员", "active members (7 days)"),
    "active_30d": ("30日活跃成员", "active members (30 days)"),
    "active_share_30d": ("30日活跃率", "30-day active share"),
    "events": ("事件数", "events"),
    "events_per_member": ("人均事件数", "events per member"),
    "content_per_member": ("人均发言数", "content per member"),
    "first_event": ("首个事件", "first event"),
    "last_event": ("最后事件", "last event"),
    "date": ("日期", "date"),
    "daily_activity": ("每日活跃度(事件数)", "Daily activity (events)"),
    "daily_active_members": ("每日活跃成员数", "Daily active members"),
    "weekday_hour": ("星期 × 小时 活跃热力图 (本地时间)", "Weekday × hour activity (local time)"),
    "hour": ("小时", "hour"),
    "weekday": ("星期", "weekday"),
    "weekdays": ("周一,周二,周三,周四,周五,周六,周日", "Mon,Tue,Wed,Thu,Fri,Sat,Sun"),
    "count": ("数量", "count"),
    "share": ("占比", "share"),
    "as_of": ("分析时点", "as of"),
    "theme": ("主题类型", "theme"),
    "business_model": ("商业模式", "business model"),
    "lifecycle": ("生命周期", "lifecycle"),
    "platform": ("平台", "platform"),
    "monetization": ("变现模式", "monetization"),
    "economy": ("经济形态", "economy"),
    "created_at": ("建群时间", "created"),
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise ``ValueError`` naming the choices."""
    if lang not in LANGS:
        raise InvalidArgument(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    return lang


# Words of notebooks 01-04 and their figures (commlab.display, commlab.plots). Placeholders in braces
# are filled with str.format; numbers come formatted by commlab.fmt.
TEXT.update({
    # data and time lines
    "data_line": ("{communities}，{members}，{events}", "{communities}, {members}, {events}"),
    "n_members": ("{n} 名成员", "{n} members"),
    "n_members_one": ("{n} 名成员", "{n} member"),
    "n_events": ("{n} 条事件", "{n} events"),
    "n_events_one": ("{n} 条事件", "{n} event"),
    "data_span": ("，{first} 至 {last}（UTC）", ", {first} to {last} (UTC)"),
    "as_of_line": ("**分析时点：** {when}", "**As of:** {when}"),
    "as_of_created": ("每个社群建群后 {days} 天", "{days} days after each community's creation"),
    "data_source": ("**数据来源：** {sources}", "**Data source:** {sources}"),
    # table headers and units (commlab.display)
    "tbl_feature": ("特征", "feature"),
    "tbl_definition": ("定义", "definition"),
    "tbl_unit": ("单位", "unit"),
    "tbl_median": ("中位数", "median"),
    "tbl_mean": ("平均值", "mean"),
    "tbl_max": ("最大值", "maximum"),
    "tbl_segment": ("分群", "segment"),
    "tbl_rule": ("命名依据", "why this name"),
    "tbl_param": ("参数", "parameter"),
    "tbl_estimate": ("估计值", "estimate"),
    "tbl_se": ("标准误", "standard error"),
    "tbl_ci_low": ("95% 区间下限", "95% interval, low"),
    "tbl_ci_high": ("95% 区间上限", "95% interval, high"),
    "tbl_correct": ("判对人数", "correct"),
    "tbl_accuracy": ("准确率", "accuracy"),
    "tbl_precision": ("精确率", "precision"),
    "tbl_all": ("全部", "all"),
    "tbl_metric": ("指标", "metric"),
    "tbl_measured": ("测得形态", "measured"),
    "tbl_declared": ("声明形态", "declared"),
    "unit_days": ("天", "days"),
    "unit_weeks": ("周", "weeks"),
    "unit_events": ("次", "events"),
    "unit_events / 30 days": ("次 / 30 天", "events / 30 days"),
    "unit_members": ("人", "members"),
    "unit_share": ("比例", "share"),
    "unit_money": ("金额", "amount"),
    "unit_bool": ("是 / 否", "yes / no"),
    "ineq_never": ("从不发言占比", "never post"),
    "ineq_once": ("只发言一次占比", "post once"),
    "ineq_top1": ("前 1% 成员内容占比", "content of the top 1 %"),
    "ineq_next9": ("次 9% 成员内容占比", "content of the next 9 %"),
    "ineq_rest90": ("其余 90% 成员内容占比", "content of the other 90 %"),
    "ineq_gini": ("基尼系数", "Gini coefficient"),
    # sentences of notebook 02
    "seg_buyers_line": ("{label}（至少购买一次）：{n} 人", "{label} (at least one purchase): {n}"),
    "seg_method_kmeans": ("k 均值聚类", "k-means"),
    "seg_method_gmm": ("高斯混合模型", "a Gaussian mixture"),
    "seg_criterion_kmeans": ("轮廓系数", "silhouette"),
    "seg_criterion_gmm": ("BIC", "BIC"),
    "seg_choice": ("用{method}把 {n} 名成员（不含管理团队）分成 {k} 群；k 在 {lo}–{hi} 之间按{criterion}自动选出。",
                   "{method} splits {n} members (staff excluded) into {k} segments; k chosen between {lo} and {hi} "
                   "by {criterion}."),
    "seg_choice_fixed": ("用{method}把 {n} 名成员（不含管理团队）分成 {k} 群（k 由参数指定）。",
                         "{method} splits {n} members (staff excluded) into {k} segments (k set by parameter)."),
    "seg_stability_line": ("调整兰德指数：中位数 {median}，最低 {low}（{n} 次重抽样）。",
                           "Adjusted Rand index: median {median}, lowest {low} ({n} resamples)."),
    "seg_moves": ("过去 6 个月：{ordinary} → {core}：{a} 人次 · {core} → {churn}或{zombie}：{b} 人次",
                  "Last 6 months: {ordinary} → {core}: {a} · {core} → {churn} or {zombie}: {b}"),
    "seg_bgnbd_fit": ("BG/NBD 模型在 {n} 名成员上拟合，以{period}为一个周期。",
                      "BG/NBD fitted on {n} members, one period being a {period}."),
    "period_D": ("天", "day"),
    "period_W": ("周", "week"),
    "seg_zombies": ("僵尸粉占比（存活概率低于 {threshold}）：{share}（95% 区间 {lower}–{upper}）· "
                    "从未活跃的成员另计：{never} 人",
                    "Zombie share (P(alive) below {threshold}): {share} (95% interval {lower}–{upper}) · "
                    "never-active members, counted apart: {never}"),
    "seg_truth_ari": ("调整兰德指数（聚类对植入角色）：**{ari}**",
                      "Adjusted Rand index (clusters vs planted roles): **{ari}**"),
    # sentences of notebooks 03 and 04
    "single_community_health": ("只有一个社群：健康度热力图和网络对比需要多个社群，本节略去这两项。",
                                "One community only: the health heatmap and the network comparison need several "
                                "communities and are left out."),
    "heatmap_too_few": ("可以比较的社群不足两个（其余社群人数过少、已隐藏），不画健康度热力图。",
                        "Fewer than two communities can be compared (the others are too small and hidden): "
                        "no health heatmap."),
    "cohort_none": ("{name}：没有不少于 {k} 人的入群同期群，不画同期群留存图。",
                    "{name}: no join cohort has {k} or more members: no cohort figure."),
    "network_none": ("没有可以展示的互动网络：所有社群都被隐藏或没有互动。",
                     "No interaction network to draw: every community is suppressed or has no interactions."),
    "single_community_types": ("只有一个社群：类型对比需要至少两个社群，本节略去。",
                               "One community only: comparing types needs at least two communities, so this "
                               "section is left out."),
    "single_type": ("所有社群都属于同一{axis}（{group}）：类型对比需要至少两种类型，本节略去。",
                    "Every community has the same {axis} ({group}): comparing types needs at least two, so this "
                    "section is left out."),
    "type_counts": ("**{axis}：** {groups}", "**{axis}:** {groups}"),
    "type_count": ("{group} {n} 个", "{group} {n}"),
    "ci_cell": ("{median}（{low}–{high}），{n} 个", "{median} ({low}–{high}), n = {n}"),
    "ci_cell_one": ("{median}，1 个", "{median}, n = 1"),
    "col_test_groups": ("组数", "groups"),
    "col_n": ("社群数", "communities"),
    "col_n_rest": ("其余社群数", "communities (rest)"),
    "col_p": ("p 值", "p-value"),
    "col_p_holm": ("p 值（Holm 校正）", "p-value (Holm)"),
    "col_epsilon": ("效应量 ε²", "effect size ε²"),
    "col_note": ("说明", "note"),
    "col_group": ("类型", "type"),
    "col_median_group": ("该类型中位数", "median of the type"),
    "col_median_rest": ("其余中位数", "median of the rest"),
    "col_rank_biserial": ("秩二列相关", "rank-biserial"),
    "note_n_too_small": ("样本太少，无法下结论", "too few communities to conclude"),
    "note_no_variation": ("所有社群取值相同", "the same value everywhere"),
    "no_differences": ("没有任何类型与其余社群有显著差异（p < 0.05）。",
                       "No type differs from the other communities at p < 0.05."),
    "hyp_line": ("{metric} · {groups} 对比 {versus} · {test}", "{metric} · {groups} against {versus} · {test}"),
    "hyp_rest": ("其余社群", "the other communities"),
    "sec_fingerprint": ("类型指纹", "Type fingerprints"),
    "sec_fingerprint_intro": ("每种类型在各指标上的中位相对位置（0 = 这些社群中最差，1 = 最好）。",
                              "Median relative position per type (0 = worst, 1 = best)."),
    "sec_groups": ("分组对比表", "Comparison tables"),
    "sec_groups_intro": ("每组：中位数、95% 自助法区间与社群数（只有一个社群的组没有区间）。",
                         "Per group: median, 95 % bootstrap interval and the number of communities "
                         "(no interval for a group of one)."),
    "sec_tests": ("组间差异检验", "Tests of differences"),
    "sec_tests_intro": ("Kruskal–Wallis 检验（效应量 ε²）与“一组对其余”的 Mann–Whitney 检验（秩二列相关），"
                        "后者只列出 p < 0.05 的结果。组太小时标明“样本太少，无法下结论”。",
                        "Kruskal–Wallis (ε²) and one-vs-rest Mann–Whitney (rank-biserial), the latter listed only "
                        "where p < 0.05. Groups too small to conclude anything are marked so."),
    "sec_hypotheses": ("行为假设检验", "Behavioural hypotheses"),
    "sec_hypotheses_intro": ("每条假设：陈述、所用指标和分组、检验，以及数据是否支持（p 值、效应量、社群数）。",
                             "Each hypothesis: statement, metric and groups, test, and whether the data support it "
                             "(p-value, effect size, number of communities)."),
    "hyp_line_axis": ("{metric} · 按{axis}分组比较 · {test}", "{metric} · compared across {axis} · {test}"),
    "hyp_line_short": ("{metric} · {test}", "{metric} · {test}"),
    "test_kruskal": ("Kruskal–Wallis 检验", "Kruskal–Wallis test"),
    "test_mwu": ("置换 Mann–Whitney U 检验", "permutation Mann–Whitney U test"),
    "test_mwu_strata": ("按{strata}分层的置换 Mann–Whitney U 检验",
                        "permutation Mann–Whitney U test stratified by {strata}"),
    "test_signed": ("与阈值比较的 Wilcoxon 符号秩检验", "Wilcoxon signed-rank test against the threshold"),
    "test_fisher": ("成员层面的 Fisher 精确检验（该组只有一个社群）", "Fisher exact test on members (the group has one "
                    "community)"),
    "test_daily": ("逐社群比较第 1–3 天与第 4–30 天日活的置换 Mann–Whitney 检验",
                   "per community: permutation Mann–Whitney test of daily active members, days 1–3 against 4–30"),
    # figures of notebook 01
    "active_members_axis": ("活跃成员数（{days} 日平均）", "active members ({days}-day mean)"),
    "events_axis": ("事件数", "events"),
    "daily_top_panels": ("（成员最活跃的 {shown} 个社群，共 {n} 个）", " (the {shown} most active of {n} communities)"),
    "alt_daily": ("折线图：{n} 个社群的{what}（7 日平均），{first} 至 {last}；平均最高的是{top}（约 {top_value} 人）。",
                  "Line chart: {what} (7-day mean) per community ({n} in all), {first} to {last}; "
                  "highest on average: {top} (about {top_value})."),
    "alt_daily_one": ("折线图：{top}的{what}（7 日平均），{first} 至 {last}；平均约 {top_value} 人。",
                      "Line chart: {what} (7-day mean) of {top}, {first} to {last}; about {top_value} on average."),
    "alt_daily_empty": ("折线图：分析时段内没有活跃记录。", "Line chart: no activity in the period."),
    "alt_weekday_hour": ("热力图：按星期和小时（本地时间）统计的 {total} 条行为事件；"
                         "最活跃的是{day} {hour} 时（{value} 条）。",
                         "Heatmap: {total} activity events by weekday and hour (local time); busiest: "
                         "{day} at {hour}:00 ({value} events)."),
    "alt_weekday_hour_empty": ("热力图：分析时段内没有行为事件。", "Heatmap: no activity events in the period."),
    # figures of notebooks 03 and 04
    "heatmap_title": ("社群健康指标（绿色 = 在这些社群中较好）",
                      "Community health (green = better among these communities)"),
    "heatmap_scale": ("相对位置（1 = 最好）", "relative position (1 = best)"),
    "heatmap_no_values": ("\n{n} 个社群：格中不标数值", "\n{n} communities: values not printed in the cells"),
    "heatmap_every_nth": ("，每 {step} 个社群标注一个名称", "; every {step}th community named"),
    "alt_heatmap": ("热力图：{n} 个社群 × {m} 项健康指标，颜色表示在这些社群中的相对位置（绿色较好）；"
                    "整体最好的是{best}，最弱的是{worst}。",
                    "Heatmap: {n} communities × {m} health metrics, coloured by relative position among them "
                    "(green is better); best overall: {best}; weakest: {worst}."),
    "alt_heatmap_empty": ("热力图：{n} 个社群 × {m} 项指标，没有可比较的数值。",
                          "Heatmap: {n} communities × {m} metrics, with no values to compare."),
    "metric_group_activity": ("活跃", "activity"),
    "metric_group_participation": ("参与", "participation"),
    "metric_group_response": ("回应", "response"),
    "metric_group_retention": ("留存", "retention"),
    "metric_group_monetization": ("变现", "monetization"),
    "metric_group_network": ("网络", "network"),
    "metric_group_high_value": ("高价值", "high value"),
    "metric_group_practices": ("运营实践", "practices"),
    "metric_group_other": ("其他", "other"),
    "cohort_title": ("同期群留存", "Cohort retention"),
    "cohort_offset": ("入群后第几个月", "months since joining"),
    "cohort_rows": ("入群月份（人数）", "join cohort (size)"),
    "retention": ("留存率", "share active"),
    "alt_cohort": ("热力图：{name}的 {n} 个入群同期群的留存率；入群后第 {offset} 个月的留存中位数为 {first}。",
                   "Heatmap: retention of the join cohorts of {name} ({n} in all); median share still active in "
                   "month {offset}: {first}."),
    "network_staff": ("官方/管理员", "staff"),
    "network_members": ("成员", "members"),
    "network_title": ("{name}：社群经济指数 {index}（{kind}）", "{name}: economy index {index} ({kind})"),
    "alt_network": ("网络图：{name}中互动最多的 {nodes} 人（其中官方/管理员 {staff} 人）之间的 {edges} 条互动关系。",
                    "Network diagram: {name}: {edges} ties among the {nodes} most interactive people "
                    "({staff} of them staff)."),
    "economy_title": ("粉丝经济 ↔ 社群经济", "Fan ↔ community economy"),
    "economy_axis": ("社群经济指数：0 = 粉丝经济（中心辐射），1 = 社群经济（网状）",
                     "economy index: 0 = fan economy (hub and spoke), 1 = community economy (mesh)"),
    "economy_fan": ("粉丝经济 (< 0.4)", "fan economy (< 0.4)"),
    "economy_mixed": ("混合", "mixed"),
    "economy_community": ("社群经济 (> 0.6)", "community economy (> 0.6)"),
    "economy_declared_fan": ("斜线 = 声明为粉丝经济", "hatched = declared fan economy"),
    "alt_economy": ("条形图：{n} 个社群的社群经济指数；{fan} 个为粉丝经济，{community} 个为社群经济；"
                    "最低的是{low}（{low_v}），最高的是{high}（{high_v}）。",
                    "Bar chart: economy index per community ({n} in all); fan economy: {fan}, community economy: "
                    "{community}; lowest: {low} ({low_v}), highest: {high} ({high_v})."),
    "alt_economy_one": ("条形图：{low}的社群经济指数为 {low_v}（{kind}）。",
                        "Bar chart: the economy index of {low} is {low_v} ({kind})."),
    "alt_economy_empty": ("条形图：没有可展示的社群经济指数。", "Bar chart: no economy index to show."),
    "n_communities": ("{n} 个社群", "{n} communities"),
    "n_communities_one": ("{n} 个社群", "{n} community"),
    "fingerprint_title": ("类型指纹", "Type fingerprints"),
    "fingerprint_scale": ("中位相对位置（1 = 最好）", "median relative position (1 = best)"),
    "alt_fingerprint": ("热力图：{types} 种类型在 {m} 项指标上的中位相对位置（绿色较好）。",
                        "Heatmap: median relative position of {types} types on {m} metrics (green is better)."),
    "score_axis": ("得分（0–1）", "score (0–1)"),
    "high_value_title": ("高价值社群画像", "High-value profile"),
    "alt_high_value": ("条形图：{n} 个社群的三项高价值得分；各项最高：{best}。",
                       "Bar chart: the three high-value scores per community ({n} in all); highest: {best}."),
    # figures of notebook 02 (commlab.plots.segments.tr reads them as seg_<key>)
    "seg_k": ("分群数 k", "number of segments k"),
    "seg_silhouette": ("轮廓系数（越高越好）", "silhouette (higher is better)"),
    "seg_bic": ("BIC（越低越好）", "BIC (lower is better)"),
    "seg_none": ("得分", "score"),
    "seg_k_title": ("分群数选择", "Choosing the number of segments"),
    "seg_chosen": ("选定", "chosen"),
    "seg_sizes_title": ("各分群人数", "Segment sizes"),
    "seg_members": ("成员数", "members"),
    "seg_segment": ("分群", "segment"),
    "seg_profile_title": ("分群画像（标准化均值 z）", "Segment profiles (standardised means, z)"),
    "seg_projection_title": ("成员分布（主成分二维投影）", "Members in 2-D (principal components)"),
    "seg_pc1": ("主成分 1", "PC 1"),
    "seg_pc2": ("主成分 2", "PC 2"),
    "seg_crosstab_title": ("规则角色 × 聚类分群（人数）", "Rule roles × clusters (members)"),
    "seg_role": ("规则角色", "rule role"),
    "seg_transition_title": ("月度角色迁移（行内占比）", "Month-over-month role transitions (row shares)"),
    "seg_from": ("上期角色", "from"),
    "seg_to": ("本期角色", "to"),
    "seg_joined": ("新加入", "joined"),
    "seg_p_alive_title": ("存活概率分布（BG/NBD）", "P(alive) distribution (BG/NBD)"),
    "seg_p_alive": ("存活概率", "P(alive)"),
    "seg_threshold": ("阈值", "threshold"),
    "seg_stability_title": ("分群稳定性（重抽样 ARI）", "Segment stability (ARI across resamples)"),
    "seg_ari": ("调整兰德指数 ARI", "adjusted Rand index"),
    "seg_resample": ("第几次重抽样", "resample"),
    "alt_k_scores": ("折线图：分群数 k 从 {lo} 到 {hi} 的{metric}；选定 k = {k}。",
                     "Line chart: {metric} for k from {lo} to {hi}; chosen k = {k}."),
    "alt_sizes": ("条形图：{n} 个分群的人数，最大的是“{top}”（{share}）。",
                  "Bar chart: members in each of {n} segments; largest: {top} ({share})."),
    "alt_profile": ("热力图：{n} 个分群在 {m} 项特征上的标准化均值（红色高于平均，蓝色低于平均）。",
                    "Heatmap: standardised means of {n} segments on {m} features (red above average, blue below)."),
    "alt_projection": ("散点图：{points} 名成员在主成分二维投影上的位置，按 {n} 个分群着色。",
                       "Scatter plot: {points} members on the first two principal components, coloured by "
                       "their {n} segments."),
    "alt_crosstab": ("热力图：{rows} 种规则角色 × {cols} 个分群的成员人数（少于 {k} 人的格子不显示）。",
                     "Heatmap: members by {rows} rule roles × {cols} segments (cells under {k} members hidden)."),
    "alt_transition": ("热力图：月度角色迁移，每行是上期角色，每格是本期各角色的占比；留在原角色的中位占比为 {stay}。",
                       "Heatmap: month-over-month role transitions, each row the previous role split into "
                       "this month's roles; median share staying in the same role: {stay}."),
    "alt_p_alive": ("直方图：{n} 名成员的存活概率（BG/NBD）；{below} 低于阈值 {threshold}。",
                    "Histogram: P(alive) of {n} members (BG/NBD); {below} below the threshold {threshold}."),
    "alt_stability": ("散点图：{n} 次重抽样的调整兰德指数，中位数 {median}，最低 {low}。",
                      "Dot plot: adjusted Rand index of {n} resamples; median {median}, lowest {low}."),
    "alt_high_value_empty": ("条形图：没有可展示的高价值得分。", "Bar chart: no high-value score to show."),
})


def t(key: str, lang: str = "en") -> str:
    """The text for ``key`` in ``lang``; the key itself when unknown."""
    zh, en = TEXT.get(key, (key, key))
    return zh if check_lang(lang) == "zh" else en
