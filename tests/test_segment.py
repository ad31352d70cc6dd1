"""MemberSegmenter: the scikit-learn contract, k selection, naming, stability, and the samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from commlab.analysis.features import member_features
from commlab.analysis.roles import RoleThresholds
from commlab.analysis.segment import (
    SEGMENT_FEATURES,
    MemberSegmenter,
    member_segments_table,
    name_segments,
    project_2d,
    segment_matrix,
)
from commlab.data import load_dataset

SAMPLES_AS_OF = pd.Timestamp("2024-06-30T16:00:00", tz="UTC")


def _expected_failed_checks(estimator) -> dict[str, str]:
    # Every common check applies and passes: MemberSegmenter validates input with
    # validate_data, stores only its arguments in __init__, and is deterministic given
    # random_state. Keep this hook to document any check that stops applying.
    return {}


@parametrize_with_checks([MemberSegmenter(n_clusters=3, n_init=1, random_state=0)],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_contract(estimator, check):
    check(estimator)


def _blobs(n=600, seed=0):
    X, y = make_blobs(n_samples=n, centers=[[0, 0, 0], [6, 6, 0], [0, 6, 6], [6, 0, 6]], cluster_std=0.7,
                      random_state=seed)
    return np.abs(X), y  # non-negative like counts


def test_auto_k_finds_the_planted_blobs_with_either_method():
    X, y = _blobs()
    for method in ("kmeans", "gmm"):
        seg = MemberSegmenter(method=method, k_min=2, k_max=7, n_init=2, random_state=0).fit(X)
        assert seg.n_clusters_ == 4, (method, seg.k_scores_)
        assert adjusted_rand_score(y, seg.labels_) > 0.95
        assert list(seg.k_scores_["k"]) == list(range(2, 8))
        assert seg.k_scores_["metric"].iloc[0] == ("silhouette" if method == "kmeans" else "bic")


def test_many_members_choose_k_on_a_subsample_and_fit_kmeans_on_all(monkeypatch):
    """Above ``subsample`` rows: candidates (and a Gaussian mixture) see the subsample, KMeans at k every row."""
    X, y = _blobs(3000)
    seen: list[tuple[str, int, int]] = []
    real = MemberSegmenter._model

    def spy(self, k, seed):
        model = real(self, k, seed)
        fit = model.fit

        def recording_fit(Z, *a, **kw):
            seen.append((type(model).__name__, k, len(Z)))
            return fit(Z, *a, **kw)

        model.fit = recording_fit
        return model

    monkeypatch.setattr(MemberSegmenter, "_model", spy)
    km = MemberSegmenter(k_min=2, k_max=6, n_init=2, subsample=500, random_state=0).fit(X)
    assert [r for r in seen if r[2] == 500] == [("ParallelInitKMeans", k, 500) for k in range(2, 7)]
    assert seen[-1] == ("ParallelInitKMeans", 4, len(X)) and len(seen) == 6  # the chosen k, refitted on every row
    assert km.n_clusters_ == 4 and len(km.labels_) == len(X) and adjusted_rand_score(y, km.labels_) > 0.95
    assert (km.predict(X) == km.labels_).all()
    seen.clear()
    gmm = MemberSegmenter(method="gmm", k_min=2, k_max=6, n_init=5, subsample=500, random_state=0).fit(X)
    assert {r[2] for r in seen} == {500} and len(seen) == 5  # the mixture never sees every row
    assert gmm.n_clusters_ == 4 and adjusted_rand_score(y, gmm.labels_) > 0.95
    seen.clear()
    MemberSegmenter(n_clusters=4, n_init=1, subsample=500, random_state=0).fit(X)  # no choice to make
    assert seen == [("ParallelInitKMeans", 4, len(X))]
    seen.clear()
    same = MemberSegmenter(k_min=2, k_max=6, n_init=2, subsample=None, random_state=0).fit(X)
    assert {r[2] for r in seen} == {len(X)} and same.n_clusters_ == 4
    with pytest.raises(ValueError, match="subsample"):
        MemberSegmenter(subsample=1).fit(X)


def test_segments_numbered_by_size_and_predict_matches_labels():
    X, _ = _blobs()
    X = np.vstack([X, X[:150] + 0.01])  # make one blob the largest
    seg = MemberSegmenter(n_clusters=4, n_init=2, random_state=0).fit(X)
    sizes = seg.profile_["size"].to_numpy()
    assert (np.diff(sizes) <= 0).all() and sizes.sum() == len(X)
    assert (seg.predict(X) == seg.labels_).all()
    assert seg.cluster_centers_.shape == (4, 3)
    assert seg.profile_["share"].sum() == pytest.approx(1.0)


def test_is_usable_in_a_pipeline_and_seeded():
    X, _ = _blobs()
    pipe = Pipeline([("seg", MemberSegmenter(n_clusters=4, n_init=2, random_state=3))])
    a = pipe.fit_predict(X)
    b = MemberSegmenter(n_clusters=4, n_init=2, random_state=3).fit_predict(X)
    assert (a == b).all()


def test_errors_are_clear():
    X, _ = _blobs(50)
    with pytest.raises(ValueError, match="method"):
        MemberSegmenter(method="dbscan").fit(X)
    with pytest.raises(ValueError, match="n_clusters"):
        MemberSegmenter(n_clusters="many").fit(X)
    with pytest.raises(ValueError, match="n_samples"):
        MemberSegmenter(n_clusters=3).fit(X[:2])


def test_stability_is_high_on_clear_blobs_and_low_on_noise():
    X, _ = _blobs()
    seg = MemberSegmenter(n_clusters=4, n_init=2, random_state=0).fit(X)
    aris = seg.stability(X, n_resamples=5, random_state=1)
    assert aris.shape == (5,) and aris.min() > 0.95
    noise = np.random.default_rng(0).uniform(size=(200, 3))
    seg = MemberSegmenter(n_clusters=6, n_init=1, random_state=0).fit(noise)
    assert np.median(seg.stability(noise, n_resamples=3, random_state=1)) < 0.9


def test_stability_refits_on_at_most_max_sample_rows(monkeypatch):
    X, _ = _blobs()
    seg = MemberSegmenter(n_clusters=4, n_init=2, random_state=0).fit(X)
    sizes = []
    fit = MemberSegmenter.fit
    monkeypatch.setattr(MemberSegmenter, "fit", lambda self, Z, *a, **kw: sizes.append(len(Z)) or fit(self, Z, *a,
                                                                                                      **kw))
    full = seg.stability(X, n_resamples=2, random_state=1)
    capped = seg.stability(X, n_resamples=3, max_sample=60, random_state=1)
    assert sizes == [int(0.8 * len(X))] * 2 + [60] * 3
    assert full.min() > 0.95 and capped.min() > 0.9  # each refit is still compared on every row
    assert np.array_equal(seg.stability(X, n_resamples=2, max_sample=None, random_state=1), full)
    with pytest.raises(ValueError, match="max_sample"):
        seg.stability(X, max_sample=1)


def test_naming_applies_the_role_rules_to_the_median_member():
    prof = pd.DataFrame({
        "tenure_days": [200, 200, 10, 200, 200, 200],
        "recency_days": [1, 100, 1, 40, 1, 20],
        "n_events": [300, 3, 5, 50, 4, 2],
        "ugc_30d": [40, 0.1, 3, 5, 0.2, 0.0],
        "partners_in": [50, 0, 1, 5, 1, 0],
        "purchases": [0, 0, 0, 0, 5, 0],
    }, index=pd.Index(range(6), name="segment"))
    names = name_segments(prof, RoleThresholds())
    assert list(names["role"]) == ["core", "zombie", "newcomer", "churn_risk", "buyer", "lurker"]
    assert names.loc[0, "name_zh"] == "核心用户/KOL" and names.loc[5, "name_zh"] == "潜水"
    assert names["rule"].str.len().gt(0).all()
    dup = name_segments(prof.iloc[[5, 5]].set_axis([0, 1]))
    assert list(dup["name_en"]) == ["lurker 1", "lurker 2"]


def test_project_2d_shape():
    X, _ = _blobs(100)
    assert project_2d(X).shape == (100, 2)
    assert project_2d(X[:, :1]).shape == (100, 2)


@pytest.fixture(scope="module")
def sample_matrix(samples_dir):
    ds = load_dataset(samples_dir)
    f = member_features(ds.events, ds.members, as_of=SAMPLES_AS_OF)
    truth = pd.read_csv(samples_dir / "truth" / "member_roles.csv", dtype=str)
    f = f.merge(truth, on=["community_id", "member_id"], validate="1:1")
    f = f[~f["is_staff"]].reset_index(drop=True)
    return f, segment_matrix(f)


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_clusters_recover_planted_roles_on_samples(sample_matrix, method):
    f, X = sample_matrix
    if method == "gmm":  # a seeded subsample keeps the Gaussian mixtures fast
        keep = np.sort(np.random.default_rng(0).choice(len(f), 3000, replace=False))
        f, X = f.iloc[keep].reset_index(drop=True), X.iloc[keep].reset_index(drop=True)
    # 8 planted roles, and c01's recent newcomers who only react (the lurker-revival plant) behave apart from
    # the newcomers who speak: 9 groups to find
    seg = MemberSegmenter(method=method, k_min=3, k_max=9, random_state=0).fit(X, profile_features=f)
    ari = adjusted_rand_score(f["planted_role"], seg.labels_)
    print(method, "k =", seg.n_clusters_, "ARI vs planted roles =", round(ari, 3))
    assert ari >= 0.6
    # the names say what the segments are: the planted zombies and newcomers land in segments named so
    named = pd.Series(seg.labels_).map(seg.segment_names_.set_index("segment")["role"])
    for role in ("newcomer", "churn_risk", "buyer", "zombie", "lurker"):
        assert (named[f["planted_role"] == role] == role).mean() > 0.8, role
    out = member_segments_table(f, seg.labels_, seg.segment_names_, key="test-key")
    assert not set(out["member"]) & set(f["member_id"]) and out["member"].str.startswith("m_").all()
    assert list(X.columns) == list(SEGMENT_FEATURES)


SE_SITES = ("astronomy", "052012economics")  # an active site and a closed one (Area 51 archive)


@pytest.mark.shared_data
@pytest.mark.parametrize("site", SE_SITES)
def test_segments_on_real_stack_exchange_sites_are_stable(shared_data, site):
    from commlab.importers.se_csv import read_se_180d

    ds = read_se_180d(shared_data / "se_communities_180d" / site)
    # explicit instant: the end of the 180-day window that starts at the community's creation
    as_of = ds.communities["created_at"].iloc[0] + pd.Timedelta(days=180)
    f = member_features(ds.events, ds.members, as_of=as_of)
    members = f[~f["is_staff"]].reset_index(drop=True)
    X = segment_matrix(members)
    seg = MemberSegmenter(k_min=3, k_max=8, n_init=2, random_state=0).fit(X, profile_features=members)
    aris = seg.stability(X, n_resamples=5, random_state=0)
    print(site, "k =", seg.n_clusters_, "ARIs", np.round(aris, 3), list(seg.segment_names_["name_en"]))
    assert np.median(aris) >= 0.8
    assert seg.profile_["size"].sum() == len(members)
    # most Stack Exchange accounts never post: a zombie segment must appear
    assert "zombie" in set(seg.segment_names_["role"])


def test_plots_return_axes_with_labels_in_the_chosen_language():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from commlab.plots import setup_fonts
    from commlab.plots.segments import (
        plot_k_scores,
        plot_p_alive,
        plot_profile_heatmap,
        plot_projection,
        plot_segment_sizes,
        plot_stability,
        plot_transition_heatmap,
    )

    setup_fonts()  # as a notebook does: Chinese labels need the CJK font
    X, _ = _blobs(200)
    cols = pd.DataFrame(X, columns=["ugc_30d", "recency_days", "tenure_days"])
    seg = MemberSegmenter(k_min=2, k_max=5, n_init=1, random_state=0).fit(cols)
    assert plot_k_scores(seg.k_scores_, seg.n_clusters_, lang="zh").get_title() == "分群数选择"
    ax = plot_segment_sizes(seg.profile_, seg.segment_names_, lang="en")
    assert len(ax.patches) == seg.n_clusters_
    ax = plot_profile_heatmap(seg.profile_, seg.segment_names_, lang="zh")
    assert "月均内容数" in [t.get_text() for t in ax.get_xticklabels()]
    ax = plot_projection(project_2d(seg.transform(cols)), seg.labels_, seg.segment_names_, lang="en")
    assert len(ax.collections) == seg.n_clusters_
    mat = pd.DataFrame([[5, 1], [2, 8]], index=["core", "lurker"], columns=["core", "lurker"])
    ax = plot_transition_heatmap(mat, lang="zh")
    assert ax.get_xlabel() == "本期角色" and "潜水" in [t.get_text() for t in ax.get_yticklabels()]
    assert plot_p_alive(np.linspace(0, 1, 50), 0.5, lang="en").get_xlabel() == "P(alive)"
    assert plot_stability(np.array([0.9, 0.95]), lang="en").get_ylabel() == "adjusted Rand index"
    plt.close("all")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_too_few_rows_to_choose_k_give_one_segment(n):
    """A 3-member export (the owner and 2 members) stopped the demo with exit 5: 'cannot choose k automatically
    with n_samples=2'. With fewer rows than k_min + 1 there is no k to choose: one segment, flagged."""
    X = pd.DataFrame({"tenure_days": [40.0, 90.0, 10.0][:n], "ugc": [3.0, 0.0, 12.0][:n]})
    seg = MemberSegmenter(k_min=3, k_max=8, random_state=0).fit(X)
    assert seg.too_few_ and seg.n_clusters_ == 1 and seg.labels_.tolist() == [0] * n
    assert seg.k_scores_["k"].tolist() == [1] and int(seg.profile_.loc[0, "size"]) == n
    assert len(seg.segment_names_) == 1 and seg.predict(X).tolist() == [0] * n
    four = pd.DataFrame({"tenure_days": [40.0, 90.0, 10.0, 200.0], "ugc": [3.0, 0.0, 12.0, 50.0]})
    enough = MemberSegmenter(k_min=3, k_max=8, random_state=0).fit(four)  # k_min + 1 rows: k = 3 is tried
    assert not enough.too_few_ and enough.n_clusters_ == 3


def test_a_number_of_segments_asked_for_is_not_lowered():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="n_clusters=3 is larger than n_samples=2"):
        MemberSegmenter(n_clusters=3).fit(X)
    with pytest.raises(ValueError):
        MemberSegmenter(n_clusters="auto").fit(np.empty((0, 2)))


def test_k_search_is_bounded_and_stable_at_every_size(monkeypatch):
    """The k search sees at most ``subsample`` rows at 4x and 16x that size, and what it finds does not move:
    the same k for every seed and size, segments agreeing with a search over every row (issue 25)."""
    seen: list[int] = []
    real = MemberSegmenter._model

    def spy(self, k, seed):
        model = real(self, k, seed)
        fit = model.fit
        model.fit = lambda Z, *a, **kw: (seen.append(len(Z)), fit(Z, *a, **kw))[1]
        return model

    monkeypatch.setattr(MemberSegmenter, "_model", spy)
    for n in (2_000, 8_000):
        X, y = _blobs(n, seed=n)
        full = MemberSegmenter(k_min=2, k_max=6, n_init=2, subsample=None, random_state=0).fit(X)
        for seed in (0, 1):
            seen.clear()
            seg = MemberSegmenter(k_min=2, k_max=6, n_init=2, subsample=500, random_state=seed).fit(X)
            assert seen[:-1] == [500] * 5 and seen[-1] == n  # 5 candidates on the sample, then k on every row
            assert seg.n_clusters_ == full.n_clusters_ == 4
            assert adjusted_rand_score(full.labels_, seg.labels_) > 0.99
            assert adjusted_rand_score(y, seg.labels_) > 0.95
