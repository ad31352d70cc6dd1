"""Every error commlab raises on purpose is a CommlabError (with a built-in base where callers expect
one); warnings users should see are CommlabWarnings; the BG/NBD model follows scikit-learn's contract."""

from __future__ import annotations

import ast
import importlib.util
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

import commlab as cl
from commlab import errors
from conftest import REPO


def test_unknown_engine_is_engine_not_found_and_still_a_key_error():
    from commlab.engines import check_engine, get_engine

    for call in (lambda: get_engine("duck"), lambda: check_engine("duck")):
        with pytest.raises(cl.EngineNotFound) as info:
            call()
        exc = info.value
        assert isinstance(exc, KeyError) and isinstance(exc, cl.CommlabError) and exc.exit_code == 2
        assert str(exc) == "unknown engine 'duck'; known: duckdb, spark"  # not quoted as KeyError would
        assert exc.name == "duck" and exc.known == ("duckdb", "spark")


def test_unknown_engine_option_is_an_invalid_argument():
    from commlab.engines import check_engine

    with pytest.raises(cl.InvalidArgument, match="did you mean 'memory_limit'") as info:
        check_engine("duckdb", {"memory": "1GB"})
    assert isinstance(info.value, ValueError)


def test_missing_pyspark_names_the_extra_to_install(monkeypatch):
    from commlab.engines import check_engine, get_engine

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    for call in (lambda: check_engine("spark"), lambda: get_engine("spark")):
        with pytest.raises(cl.MissingDependency, match=r"pip install 'commlab\[spark\]'") as info:
            call()
        assert isinstance(info.value, ImportError) and info.value.packages == ("pyspark",)
        assert info.value.extra == "spark" and info.value.exit_code == 2


def test_import_optional_names_the_package_and_the_extra():
    with pytest.raises(cl.MissingDependency) as info:
        errors.import_optional("commlab_no_such_package.sub", extra="spark", what="the Spark engine")
    assert str(info.value) == ("the Spark engine needs commlab_no_such_package, which is not installed here: "
                               "pip install 'commlab[spark]'")
    assert errors.import_optional("json", extra="x", what="y").dumps([1]) == "[1]"


def test_metric_not_found_lists_the_known_ids():
    from commlab.analysis.metrics import get_metric

    with pytest.raises(cl.MetricNotFound, match="unknown metric 'nope'; known: ") as info:
        get_metric("nope")
    assert isinstance(info.value, KeyError) and {"members", "buyer_share"} <= set(info.value.known)


def test_importer_and_transpile_errors_join_the_tree():
    from commlab.engines.transpile import TranspileError, to_dialect
    from commlab.errors import ImportFormatError

    assert issubclass(ImportFormatError, cl.SourceFormatError) and issubclass(ImportFormatError, cl.CommlabError)
    assert ImportFormatError("x.json", "not a Telegram export").exit_code == 3
    assert TranspileError is cl.TranspileError and issubclass(TranspileError, ValueError)
    pytest.importorskip("sqlglot")
    with pytest.raises(cl.TranspileError) as info:
        to_dialect("SELECT FROM WHERE (", "spark")
    assert info.value.sql == "SELECT FROM WHERE ("


def test_a_wrong_kind_of_input_is_an_invalid_type():
    with pytest.raises(cl.InvalidType, match="expected a Dataset") as info:
        cl.compute_metrics("data/samples", as_of="2024-06-30")
    assert isinstance(info.value, TypeError)


# --- the BG/NBD model as a scikit-learn estimator ------------------------------------------------------------


@pytest.fixture(scope="module")
def rfm():
    from commlab.analysis.lifecycle import simulate_bgnbd

    return simulate_bgnbd(1500, 30.0, r=0.25, alpha=4.0, a=0.8, b=2.5, random_state=3)


def test_unfitted_model_raises_not_fitted_error_that_sklearn_recognises(rfm):
    model = cl.BetaGeoModel()
    with pytest.raises(cl.NotFittedError, match="not fitted") as info:
        model.p_alive(rfm)
    assert isinstance(info.value, SklearnNotFittedError) and isinstance(info.value, cl.CommlabError)
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(model)
    with pytest.raises(cl.NotFittedError):
        model.summary()
    check_is_fitted(model.fit(rfm))


def test_get_set_params_and_clone(rfm):
    model = cl.BetaGeoModel(penalizer=0.01)
    assert model.get_params() == {"n_threads": None, "penalizer": 0.01}
    assert model.set_params(penalizer=0.0) is model and model.penalizer == 0.0
    fitted = model.fit(rfm)
    copy = clone(fitted)
    assert copy.get_params() == {"n_threads": None, "penalizer": 0.0} and not hasattr(copy, "params_")


def test_an_rfm_table_an_array_and_three_columns_fit_alike(rfm):
    a = cl.BetaGeoModel().fit(rfm)
    b = cl.BetaGeoModel().fit(rfm[["frequency", "recency", "T"]].to_numpy())
    c = cl.BetaGeoModel().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    np.testing.assert_allclose(a.params_, b.params_)
    np.testing.assert_allclose(a.params_, c.params_)
    np.testing.assert_allclose(a.p_alive(rfm), c.p_alive(rfm["frequency"], rfm["recency"], rfm["T"]))
    with pytest.raises(cl.InvalidArgument, match="lacks the column"):
        cl.BetaGeoModel().fit(rfm.drop(columns="T"))
    with pytest.raises(cl.InvalidArgument, match="give both"):
        cl.BetaGeoModel().fit(rfm["frequency"], rfm["recency"])


def test_a_converged_fit_is_silent_and_a_stalled_one_warns(rfm, monkeypatch):
    from commlab.analysis import lifecycle

    with warnings.catch_warnings():
        warnings.simplefilter("error", cl.ConvergenceWarning)
        assert cl.BetaGeoModel().fit(rfm).converged_
    real = lifecycle.minimize

    def one_step(*args, **kwargs):  # the real optimisers, stopped after one iteration
        return real(*args, **{**kwargs, "options": {**kwargs.get("options", {}), "maxiter": 1}})

    monkeypatch.setattr(lifecycle, "minimize", one_step)
    with pytest.warns(cl.ConvergenceWarning, match="did not converge on 1500 members") as record:
        model = cl.BetaGeoModel().fit(rfm)
    assert not model.converged_
    assert issubclass(record[0].category, SklearnConvergenceWarning)
    assert issubclass(record[0].category, cl.CommlabWarning)


# --- no bare built-in raise left in the package ----------------------------------------------------------------

BUILTINS = {"ValueError", "KeyError", "RuntimeError", "TypeError", "ImportError", "LookupError", "Exception"}
#: Where the rule is not enforced yet: nowhere (importers, forecast, plots, goals and data/io joined in
#: issue 23's last increment).
NOT_YET: tuple[str, ...] = ()
#: Raises that must stay built-in: file -> how many.
ALLOWED = {
    # pydantic validators: pydantic turns a ValueError into its ValidationError, reported as a PlaybookError
    "playbook.py": 21,  # +3 in the engine-settings validators (d8d3ab2), +1 for a step's `after`
    "rules.py": 10,
    "importers/mapping.py": 2,
    # __getitem__ of a mapping: KeyError is the protocol
    "data/schema.py": 2,
    # the run folder's name could not be made unique: a bug, not a user error (pragma: no cover)
    "runs.py": 1,
    # steps left waiting while none runs: `after` names only earlier steps, so a bug, not a user error
    "step_pool.py": 1,
}


def _bare_raises(path) -> int:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    n = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(call, ast.Name) and call.id in BUILTINS:
                n += 1
    return n


def test_no_bare_builtin_raise_outside_the_known_places():
    src = REPO / "src" / "commlab"
    found = {p.relative_to(src).as_posix(): _bare_raises(p) for p in src.rglob("*.py")}
    found = {k: v for k, v in found.items() if v and not (NOT_YET and k.startswith(NOT_YET))}
    extra = {k: v for k, v in found.items() if v > ALLOWED.get(k, 0)}
    assert not extra, f"raise a commlab.errors class (with a built-in base if needed) instead: {extra}"
