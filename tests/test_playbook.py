"""Playbooks are validated data; parameters are checked against the notebooks before anything runs."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from commlab.errors import ParameterError, PlaybookError, UsageError
from commlab.parameters import check_value, coerce_value, notebook_parameters
from commlab.plan import plan_run
from commlab.playbook import Playbook, find_playbooks, load_playbook
from runs_helpers import NOTEBOOKS, ONE_STEP, make_project, write_playbook


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def test_valid_playbook_resolves_paths_against_its_folder(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_playbook(project)
    monkeypatch.chdir("/")  # the working folder must not matter
    pb = load_playbook(path)
    assert isinstance(pb, Playbook)
    assert pb.name == "demo" and pb.title.zh == "测试演示" and pb.title.get("en") == "Test demo"
    assert pb.data == (project / "data").resolve()
    assert [s.notebook for s in pb.steps] == [
        (project / "notebooks" / "overview.ipynb").resolve(), (project / "notebooks" / "followup.ipynb").resolve(),
    ]
    assert [s.name for s in pb.steps] == ["overview", "followup"]  # default: the notebook's stem
    assert pb.source == path
    assert pb.report.lang == "zh" and pb.report.client == "某客户"


def test_unquoted_yaml_date_stays_text(project: Path) -> None:
    path = write_playbook(project)
    path.write_text(path.read_text(encoding="utf-8").replace("'2024-06-30'", "2024-06-30"), encoding="utf-8")
    assert "as_of: 2024-06-30\n" in path.read_text(encoding="utf-8")
    assert load_playbook(path).parameters["as_of"] == "2024-06-30"


def test_unknown_top_level_key_names_file_and_key(project: Path) -> None:
    path = write_playbook(project, stepz=[])
    with pytest.raises(PlaybookError) as info:
        load_playbook(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: stepz: unknown key")
    assert "did you mean 'steps'?" in msg
    assert "Traceback" not in msg and "pydantic" not in msg
    assert len(msg.splitlines()) == 1


def test_wrong_type_in_step_names_file_and_key(project: Path) -> None:
    path = write_playbook(project, steps=[{"notebook": "../notebooks/overview.ipynb", "parameters": [1, 2]}])
    with pytest.raises(PlaybookError, match=r"demo\.yaml: steps\.0\.parameters: expected a mapping, given list"):
        load_playbook(path)


def test_unknown_key_in_step(project: Path) -> None:
    path = write_playbook(project, steps=[{"notebook": "../notebooks/overview.ipynb", "paramters": {}}])
    with pytest.raises(PlaybookError, match=r"steps\.0\.paramters: unknown key .*did you mean 'parameters'"):
        load_playbook(path)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"name": "Demo Run"}, r"name: 'Demo Run' must use lower-case letters"),
        ({"steps": [{"notebook": "../notebooks/missing.ipynb"}]}, r"steps\.0\.notebook: notebook not found"),
        ({"data": "../nowhere"}, r"data: data folder not found"),
        ({"steps": []}, r"steps: List should have at least 1 item"),
        ({"parameters": {"output_dir": "x"}}, r"parameters: .*'output_dir' is set by the runner"),
        ({"report": {"lang": "fr"}}, r"report\.lang: .*given 'fr'"),
        ({"report": {"sections": ["nope"]}}, r"report\.sections names unknown step"),
        ({"steps": ONE_STEP * 2}, r"two steps are named 'overview'"),
        ({"title": 3}, r"title: "),
    ],
)
def test_invalid_playbooks_are_rejected_with_the_key(project: Path, change: dict, pattern: str) -> None:
    path = write_playbook(project, **change)
    with pytest.raises(PlaybookError, match=pattern) as info:
        load_playbook(path)
    assert str(info.value).startswith(str(path))


def test_title_may_be_a_plain_string(project: Path) -> None:
    pb = load_playbook(write_playbook(project, title="只有中文"))
    assert pb.title.get("en") == "只有中文"


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="playbook not found"):
        load_playbook(tmp_path / "nope.yaml")


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: demo\nsteps: [\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match=r"bad\.yaml: line \d+, column \d+: invalid YAML"):
        load_playbook(path)


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match="expected a mapping"):
        load_playbook(path)


def test_find_playbooks_lists_invalid_ones_too(project: Path) -> None:
    write_playbook(project)
    (project / "playbooks" / "broken.yaml").write_text("name: x\n", encoding="utf-8")
    found = find_playbooks(project / "playbooks")
    assert [p.name for p, _ in found] == ["broken.yaml", "demo.yaml"]
    assert isinstance(found[0][1], PlaybookError) and isinstance(found[1][1], Playbook)


# --- notebook parameters ---------------------------------------------------------------------------


def test_notebook_parameters_types_defaults_and_help() -> None:
    params = notebook_parameters(NOTEBOOKS / "overview.ipynb")
    types = {k: p.type for k, p in params.items()}
    assert types == {
        "data_dir": "str", "output_dir": "str", "as_of": "str", "lang": "str", "communities": "list",
        "min_size": "int", "ratio": "float", "verbose": "bool", "options": "dict", "fail": "bool",
        "sleep_s": "float",
    }
    # papermill alone skips this line (two '=' in it); the fallback parser keeps it, in order
    assert list(params)[4] == "communities"
    assert params["communities"].help == "community ids, empty = all"
    assert params["min_size"].default == "3" and params["min_size"].default_value == 3
    assert params["as_of"].help == "ISO date, UTC"
    assert notebook_parameters(NOTEBOOKS / "followup.ipynb")["prev_output_dirs"].type == "dict"  # annotation


def test_notebook_parameters_missing_or_broken(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        notebook_parameters(tmp_path / "none.ipynb")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(PlaybookError, match="not a readable notebook"):
        notebook_parameters(broken)


def test_check_value_types() -> None:
    p = notebook_parameters(NOTEBOOKS / "overview.ipynb")
    check_value(2, p["ratio"], where="x")  # int accepted for float
    check_value([], p["communities"], where="x")
    for value, name in [("5", "min_size"), (True, "min_size"), (True, "ratio"), ("yes", "verbose"),
                        ({}, "communities"), ([], "options"), (3, "as_of")]:
        with pytest.raises(ParameterError, match=f"parameter '{name}' expects"):
            check_value(value, p[name], where="x")


def test_coerce_value_from_command_line_text() -> None:
    assert coerce_value("5", "int") == 5
    assert coerce_value("0.25", "float") == 0.25
    assert coerce_value("true", "bool") is True and coerce_value("0", "bool") is False
    assert coerce_value("[c1, c2]", "list") == ["c1", "c2"]
    assert coerce_value('{"a": 1}', "dict") == {"a": 1}
    assert coerce_value("2024-06-30", "str") == "2024-06-30"
    assert coerce_value("2024-06-30", None) == "2024-06-30"  # dates stay text
    assert coerce_value("five", "int") == "five"  # left for check_value to report


# --- the plan: every parameter checked before anything runs ----------------------------------------


def test_plan_merges_playbook_step_and_overrides(project: Path) -> None:
    pb = load_playbook(write_playbook(project))
    plans = plan_run(pb, as_of="2024-07-31", overrides={"ratio": "0.75"})
    assert plans[0].parameters == {"as_of": "2024-07-31", "lang": "zh", "communities": [], "min_size": 5,
                                   "ratio": 0.75}
    assert plans[1].parameters == {"as_of": "2024-07-31", "lang": "zh", "communities": []}
    assert plans[0].defaults()["sleep_s"] == 0.0


def test_unknown_parameter_names_playbook_step_notebook(project: Path) -> None:
    path = write_playbook(project, steps=[{"notebook": "../notebooks/overview.ipynb",
                                           "parameters": {"min_sise": 5}}])
    with pytest.raises(ParameterError) as info:
        plan_run(load_playbook(path))
    msg = str(info.value)
    assert str(path) in msg and "steps.0 'overview'" in msg and "overview.ipynb" in msg
    assert "'min_sise' is not declared" in msg and "did you mean 'min_size'?" in msg


def test_wrong_type_names_expected_and_given(project: Path) -> None:
    path = write_playbook(project, steps=[{"notebook": "../notebooks/overview.ipynb",
                                           "parameters": {"min_size": "five"}}])
    with pytest.raises(ParameterError) as info:
        plan_run(load_playbook(path))
    msg = str(info.value)
    assert str(path) in msg and "overview.ipynb" in msg
    assert "parameter 'min_size' expects int" in msg and "given str 'five'" in msg


def test_playbook_wide_parameter_must_be_declared_by_every_step(project: Path) -> None:
    path = write_playbook(project, parameters={"as_of": "2024-06-30", "min_size": 3})
    with pytest.raises(ParameterError, match=r"steps\.1 'followup'.*'min_size' is not declared"):
        plan_run(load_playbook(path))


def test_override_declared_by_no_step(project: Path) -> None:
    pb = load_playbook(write_playbook(project))
    with pytest.raises(ParameterError, match="no notebook of the playbook declares the parameter"):
        plan_run(pb, overrides={"nonsense": "1"})
    with pytest.raises(ParameterError, match="set by the runner"):
        plan_run(pb, overrides={"output_dir": "/tmp"})
    with pytest.raises(ParameterError, match="'min_size' expects int"):
        plan_run(pb, overrides={"min_size": "many"})


def test_notebook_must_declare_output_dir(project: Path) -> None:
    book = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('as_of = "2024-06-30"  # date')
    cell.metadata["tags"] = ["parameters"]
    book.cells = [cell]
    nbformat.write(book, project / "notebooks" / "bare.ipynb")
    path = write_playbook(project, steps=[{"notebook": "../notebooks/bare.ipynb"}], data=None,
                          parameters={"as_of": "2024-06-30"})
    with pytest.raises(ParameterError, match="must declare the parameter 'output_dir'"):
        plan_run(load_playbook(path))


@pytest.mark.parametrize("good", ["2024-06-30", "2024-06-30T23:59:59Z", "2024-06-30 08:00:00+08:00", "created+180d"])
def test_as_of_accepts_iso(project: Path, good: str) -> None:
    assert plan_run(load_playbook(write_playbook(project)), as_of=good)[0].parameters["as_of"] == good


def test_as_of_must_be_iso(project: Path) -> None:
    for bad in ["30/06/2024", "created+180"]:
        with pytest.raises(ParameterError, match=f"'as_of' must be an ISO date or time.*given '{re.escape(bad)}'"):
            plan_run(load_playbook(write_playbook(project)), as_of=bad)


# --- the engine of a step: checked when the run is planned ---------------------------------------


DEMO = Path(__file__).resolve().parents[1] / "playbooks" / "demo.yaml"


def test_engine_checked_at_plan_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt engine, a missing optional package or an unknown option stops the plan, naming the
    step and the fix, before any notebook runs."""
    import importlib.util

    pb = load_playbook(DEMO)
    assert any("engine" in p.declared for p in plan_run(pb))  # the demo's metric steps take an engine
    with pytest.raises(ParameterError, match=r"steps\.\d+ .*unknown engine 'duck'; known: duckdb, spark"):
        plan_run(pb, overrides={"engine": "duck"})
    with pytest.raises(ParameterError, match=r"engine_options 'memory' not accepted by the 'duckdb' engine "
                                             r"\(did you mean 'memory_limit'\?\); accepted: memory_limit, threads"):
        plan_run(pb, overrides={"engine_options": '{"memory": "2GB"}'})
    assert plan_run(pb, overrides={"engine_options": '{"memory_limit": "2GB"}'})

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    with pytest.raises(ParameterError, match=r"engine 'spark' needs pyspark, which is not installed here: "
                                             r"pip install 'commlab\[spark\]'"):
        plan_run(pb, overrides={"engine": "spark"})


# --- confinement: a playbook runs trusted notebooks and reads rules under its own folder -------------


def test_a_key_given_twice_is_an_error(project: Path) -> None:
    path = write_playbook(project)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("name: demo\n", "name: demo\nname: other\n", 1), encoding="utf-8")
    with pytest.raises(PlaybookError, match=r"demo\.yaml: line 2, column 1: invalid YAML: key 'name' is given twice "
                                            r"\(first on line 1\)"):
        load_playbook(path)
    nested = write_playbook(project, "nested.yaml")
    nested.write_text(nested.read_text(encoding="utf-8").replace("  lang: zh\n", "  lang: zh\n  lang: en\n", 1),
                      encoding="utf-8")
    with pytest.raises(PlaybookError, match="key 'lang' is given twice"):
        load_playbook(nested)


def test_notebooks_outside_the_allowed_folders_are_refused(project: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "evil.ipynb").write_bytes((NOTEBOOKS / "overview.ipynb").read_bytes())
    absolute = write_playbook(project, "abs.yaml", steps=[{"notebook": str(elsewhere / "evil.ipynb")}])
    with pytest.raises(PlaybookError, match=r"steps\.0\.notebook: notebook '/.*evil\.ipynb' is an absolute path"):
        load_playbook(absolute)
    inside = write_playbook(project, "abs2.yaml", steps=[{"notebook": str(project / "notebooks" / "overview.ipynb")}])
    with pytest.raises(PlaybookError, match="is an absolute path"):
        load_playbook(inside)  # absolute even when it points at an allowed notebook: playbooks stay relative
    import os

    up = os.path.relpath(elsewhere / "evil.ipynb", project / "playbooks")
    escape = write_playbook(project, "up.yaml", steps=[{"notebook": up}])
    with pytest.raises(PlaybookError, match=r"notebook '\.\./.*evil\.ipynb' resolves to .*evil\.ipynb, outside the "
                                            r"folders a playbook may use \(.*notebooks"):
        load_playbook(escape)
    # a symlink inside notebooks/ pointing out is resolved first, and refused too
    (project / "notebooks" / "link.ipynb").symlink_to(elsewhere / "evil.ipynb")
    with pytest.raises(PlaybookError, match="outside the folders"):
        load_playbook(write_playbook(project, "link.yaml", steps=[{"notebook": "../notebooks/link.ipynb"}]))
    # the user names the folder explicitly: then it is allowed
    pb = load_playbook(escape, notebooks_dirs=[elsewhere])
    assert pb.steps[0].notebook == (elsewhere / "evil.ipynb").resolve()
    with pytest.raises(UsageError, match="--notebooks-dir: folder not found"):
        load_playbook(escape, notebooks_dirs=[elsewhere / "nope"])


def test_the_kit_notebooks_are_allowed_from_anywhere(tmp_path: Path) -> None:
    import os

    kit = Path(__file__).resolve().parents[1] / "notebooks" / "01_overview.ipynb"
    (tmp_path / "client").mkdir()
    path = tmp_path / "client" / "weekly.yaml"
    path.write_text(yaml.safe_dump({"name": "weekly", "title": "周报",
                                    "steps": [{"notebook": os.path.relpath(kit, path.parent)}]}), encoding="utf-8")
    assert load_playbook(path).steps[0].notebook == kit


def test_rule_library_only_under_the_playbook_folder_unless_given(project: Path, tmp_path_factory) -> None:
    from commlab.playbook import with_rules_library

    secret = tmp_path_factory.mktemp("secret") / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    for library in (str(secret), "/etc/passwd"):
        with pytest.raises(PlaybookError, match=r"rules\.library: rule library '/.*' is an absolute path") as info:
            load_playbook(write_playbook(project, "abs.yaml", rules={"library": library}))
        assert "root:x" not in str(info.value)  # never read, so nothing of it is shown
    import os

    up = os.path.relpath(secret, project / "playbooks")
    with pytest.raises(PlaybookError, match=r"rule library '\.\./.*passwd' resolves to .*, outside the") as info:
        load_playbook(write_playbook(project, "up.yaml", rules={"library": up}))
    assert "root:x" not in str(info.value)
    # a rule file beside the playbook is fine; one given on the command line may be anywhere
    rules = yaml.safe_dump({"rules": [{
        "id": "my_rule", "title": {"zh": "我的规则", "en": "My rule"}, "severity": "low", "practice": "DOMAIN.md §4",
        "when": {"metric": "members", "op": "<", "value": 3}, "action": {"zh": "做", "en": "Do"},
        "rationale": {"zh": "因为", "en": "Because"}}]}, allow_unicode=True)
    (project / "playbooks" / "mine.yaml").write_text(rules, encoding="utf-8")
    assert load_playbook(write_playbook(project, "own.yaml", rules={"library": "mine.yaml"})).rules.library.endswith(
        "mine.yaml")
    outside = tmp_path_factory.mktemp("rules") / "client_rules.yaml"
    outside.write_text(rules, encoding="utf-8")
    pb = with_rules_library(load_playbook(write_playbook(project)), outside)
    assert [r.id for r in pb.rules.resolved()] == ["my_rule"] and pb.source == project / "playbooks" / "demo.yaml"
    with pytest.raises(PlaybookError):
        with_rules_library(pb, secret)  # not a rule file: an error naming the key, no content


# --- the privacy floor and parameter ranges: refused at plan time, before any run folder -------------


@pytest.mark.parametrize("k", [1, 0, -5])
def test_k_anonymity_below_two_is_refused_in_the_playbook(project: Path, k: int) -> None:
    with pytest.raises(PlaybookError, match=rf"report\.k_anonymity: k_anonymity must be at least 2 .*given {k}"):
        load_playbook(write_playbook(project, report={"k_anonymity": k}))


@pytest.mark.parametrize("top", [0, 21, -3])
def test_top_actions_out_of_bounds_is_refused_in_the_playbook(project: Path, top: int) -> None:
    with pytest.raises(PlaybookError, match=rf"report\.top_actions: top_actions must be from 1 to 20 .*given {top}"):
        load_playbook(write_playbook(project, report={"top_actions": top}))


def test_top_actions_defaults_to_six_and_is_read_from_the_playbook(project: Path) -> None:
    assert load_playbook(write_playbook(project)).report.top_actions == 6
    assert load_playbook(write_playbook(project, "three.yaml", report={"top_actions": 3})).report.top_actions == 3
    with pytest.raises(PlaybookError, match=r"report\.top_actions"):
        load_playbook(write_playbook(project, "text.yaml", report={"top_actions": "many"}))


def test_k_min_group_below_two_is_refused_from_the_command_line_and_the_playbook(project: Path) -> None:
    demo = load_playbook(DEMO)
    for k in ("0", "1", "-5"):
        with pytest.raises(ParameterError, match=rf"parameter 'k_min_group' must be at least 2 \(the privacy floor"
                                                 rf".*given {k}"):
            plan_run(demo, overrides={"k_min_group": k})
    pb = demo.model_copy(update={"parameters": {**demo.parameters, "k_min_group": 1}})
    with pytest.raises(ParameterError, match="'k_min_group' must be at least 2"):
        plan_run(pb)
    assert plan_run(demo, overrides={"k_min_group": "2"})[0].parameters["k_min_group"] == 2


def test_the_privacy_api_refuses_k_below_two() -> None:
    import pandas as pd

    from commlab.privacy import (
        format_count,
        small_groups,
        suppress_count,
        suppress_metrics,
        suppress_small_groups,
        suppress_table,
        suppression_note,
        without_small_groups,
    )

    table = pd.DataFrame({"members": [1, 40]}, index=["a", "b"])
    calls = [lambda k: suppress_table(table, k, size="members"), lambda k: suppress_small_groups(table, "members", k),
             lambda k: suppress_metrics(table, k), lambda k: small_groups(table["members"], k),
             lambda k: without_small_groups(table, table["members"], k), lambda k: suppress_count(1, k),
             lambda k: format_count(1, k), lambda k: suppression_note(1, k)]
    for call in calls:
        for k in (1, 0, -5, 2.5, True):
            with pytest.raises(ParameterError, match="at least 2"):
                call(k)
        call(2)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("lang", "fr", r"'lang' must be one of zh, en; given 'fr'"),
    ("tz", "Mars/Olympus", r"'tz' must name a time zone, e.g. Asia/Shanghai or UTC; given 'Mars/Olympus'"),
    ("period_days", "0", r"'period_days' must be at least 1; given 0"),
    ("p_alive_threshold", "1.5", r"'p_alive_threshold' must be at least 0 and at most 1; given 1.5"),
    ("zombie_days", "0", r"'zombie_days' must be above 0; given 0"),
    ("window", "year", r"'window' must be one of month, week, none; given 'year'"),
    ("k_min", "9", r"'k_min' \(9\) is larger than 'k_max' \(8\)"),
])
def test_parameter_values_out_of_range_are_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        plan_run(load_playbook(DEMO), overrides={key: value})
