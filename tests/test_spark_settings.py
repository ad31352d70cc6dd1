"""Spark settings in a playbook (its ``engine`` section or a file it names): checked before any notebook runs.

No Spark session starts here: the checks are text checks (``commlab.engines.spark_settings``) run when the
playbook is loaded and planned; a bad value stops ``commlab run`` with exit code 4, naming the setting.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from commlab.engines import check_engine
from commlab.errors import InvalidArgument, ParameterError, PlaybookError
from commlab.plan import plan_run
from commlab.playbook import load_playbook
from conftest import REPO, skip_unless_ci, spark_missing

pytest.importorskip("pyspark")  # check_engine("spark") names the missing package first (tested in test_playbook)


@pytest.mark.parametrize("options, message", [
    ({"master": "spark//host:7077"}, r"master: 'spark//host:7077' is not a Spark master URL; use local\[2\]"),
    ({"master": "local[0]"}, r"not a Spark master URL"),
    ({"master": "mesos://m:5050"}, r"not a Spark master URL"),
    ({"driver_memory": "1 GB"}, r"driver_memory: '1 GB' is not a JVM memory size; .* 512m, 1g, 8g"),
    ({"executor_memory": "1024"}, r"executor_memory: '1024' is not a JVM memory size"),
    ({"conf": {"spark.driver.memory": "1gb"}}, r"driver_memory: '1gb' is not a JVM memory size"),
    ({"driver_memory": "1g", "conf": {"spark.driver.memory": "2g"}}, r"'spark.driver.memory' with the setting "
                                                                     r"'driver_memory' only"),
    ({"conf": {"spark.master": "local[2]"}}, r"'spark.master' with the setting 'master' only"),
    ({"conf": {"shuffle.partitions": 4}}, r"'shuffle.partitions' is not a Spark setting"),
    ({"conf": {"spark.sql.shuffle.partitions": [4]}}, r"expected a text, number or true/false, given list"),
    ({"conf": {"spark.sql.session.timeZone": "Asia/Shanghai"}}, r"timeZone must be UTC"),
    ({"scratch": "s3://bucket/scratch"}, r"s3a connector; write 's3a://bucket/scratch'"),
    ({"scratch": "ftp://host/scratch"}, r"unknown storage scheme 'ftp'"),
    ({"scratch": "s3a:///scratch"}, r"names no host or bucket"),
    ({"master": "spark://m:7077"}, r"executors run on other machines and cannot read a local folder \(None\)"),
    ({"master": "yarn", "scratch": "/tmp/x"}, r"cannot read a local folder \('/tmp/x'\); set scratch to storage"),
])
def test_bad_spark_settings_are_named(options, message):
    with pytest.raises(InvalidArgument, match=message):
        check_engine("spark", options)


@pytest.mark.parametrize("options", [
    {"master": "local"}, {"master": "local[*]", "driver_memory": "512m"},
    {"master": "spark://m1:7077,m2:7077", "executor_memory": "8g", "scratch": "hdfs://namenode:8020/commlab"},
    {"master": "yarn", "scratch": "hdfs:///user/commlab/scratch", "conf": {"spark.executor.cores": 2}},
    {"master": "k8s://https://k8s.example:6443", "scratch": "s3a://bucket/commlab/scratch"},
    {"master": "local[2]", "scratch": "file:///tmp/commlab-scratch", "conf": {"spark.sql.adaptive.enabled": True}},
    {"master": "spark://127.0.0.1:7077", "scratch": "file:///mnt/shared/commlab"},  # a folder every machine mounts
])
def test_good_spark_settings_pass(options):
    check_engine("spark", options)


def _playbook(folder: Path, engine) -> Path:
    """demo-spark.yaml copied into ``folder`` with ``engine`` (a mapping or a file name), paths kept valid."""
    pb = yaml.safe_load((REPO / "playbooks" / "demo-spark.yaml").read_text(encoding="utf-8"))
    pb["data"] = str((REPO / "data" / "samples").resolve())
    for step in pb["steps"]:
        step["notebook"] = str(Path("notebooks") / Path(step["notebook"]).name)
    pb["engine"] = engine
    (folder / "notebooks").mkdir(exist_ok=True)
    for step in pb["steps"]:
        (folder / step["notebook"]).write_bytes((REPO / "notebooks" / Path(step["notebook"]).name).read_bytes())
    path = folder / "pb.yaml"
    path.write_text(yaml.safe_dump(pb, allow_unicode=True), encoding="utf-8")
    return path


def test_the_spark_demo_playbook_sets_the_engine_of_the_metric_steps():
    """demo-spark.yaml: the steps of demo.yaml, and notebooks 02-04 get engine spark with the settings file's values
    (1 GB of driver memory, local mode); -p engine duckdb runs them on DuckDB without the Spark options."""
    demo = yaml.safe_load((REPO / "playbooks" / "demo.yaml").read_text(encoding="utf-8"))
    spark = yaml.safe_load((REPO / "playbooks" / "demo-spark.yaml").read_text(encoding="utf-8"))
    assert spark["steps"] == demo["steps"] and spark["parameters"] == demo["parameters"]
    assert (demo["jobs"], spark["jobs"]) == (2, 1)  # one Spark driver at a time
    assert spark["engine"] == "engines/spark-local.yaml"
    plans = plan_run(load_playbook(REPO / "playbooks" / "demo-spark.yaml"))
    engines = {p.step.name: (p.parameters.get("engine"), p.parameters.get("engine_options")) for p in plans}
    options = {"master": "local[2]", "driver_memory": "1g", "conf": {"spark.sql.shuffle.partitions": 4}}
    assert engines == {"01_overview": (None, None), "02_member_segments": ("spark", options),
                       "03_community_health": ("spark", options), "04_compare_types": ("spark", options),
                       "recommendations": (None, None)}
    plans = plan_run(load_playbook(REPO / "playbooks" / "demo-spark.yaml"), overrides={"engine": "duckdb"})
    assert {p.parameters.get("engine") for p in plans if "engine" in p.declared} == {"duckdb"}
    assert not any("engine_options" in p.parameters for p in plans)


def test_a_step_keeps_its_own_engine(tmp_path):
    path = _playbook(tmp_path, {"name": "spark", "master": "local[1]"})
    pb = yaml.safe_load(path.read_text(encoding="utf-8"))
    pb["steps"][2]["parameters"] = {"engine": "duckdb", "engine_options": {"memory_limit": "1GB"}}
    path.write_text(yaml.safe_dump(pb), encoding="utf-8")
    plans = {p.step.name: p.parameters for p in plan_run(load_playbook(path))}
    assert plans["02_member_segments"]["engine_options"] == {"master": "local[1]"}
    assert plans["03_community_health"]["engine"] == "duckdb"
    assert plans["03_community_health"]["engine_options"] == {"memory_limit": "1GB"}


@pytest.mark.parametrize("engine, message", [
    ({"name": "spark", "master": "spark//m:7077"}, r"engine: master: 'spark//m:7077' is not a Spark master URL"),
    ({"name": "spark", "driver_mem": "1g"}, r"engine: engine_options 'driver_mem' not accepted by the 'spark' "
                                            r"engine \(did you mean 'driver_memory'\?\)"),
    ({"name": "spork"}, r"engine: unknown engine 'spork'; known: duckdb, spark"),
    ({"name": "duckdb", "memory_limit": "2GB", "master": "local[2]"}, r"'master' not accepted by the 'duckdb'"),
    ("missing.yaml", r"engine: .*engine settings file not found: .*missing.yaml"),
    ("/etc/spark.yaml", r"engine settings file '/etc/spark.yaml' is an absolute path"),
    ("../spark.yaml", r"resolves to .*outside the folders a playbook may use"),
    (["spark"], r"engine: expected a mapping, given list"),
])
def test_bad_engine_sections_stop_the_load(tmp_path, engine, message):
    with pytest.raises(PlaybookError, match=message) as err:
        load_playbook(_playbook(tmp_path, engine))
    assert err.value.exit_code == 4


def test_engine_settings_file_is_read_and_checked(tmp_path):
    (tmp_path / "cluster.yaml").write_text("name: spark\nmaster: yarn\nscratch: /tmp/scratch\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match=r"engine: scratch: with master 'yarn' the executors run on other "
                                            r"machines and cannot read a local folder"):
        load_playbook(_playbook(tmp_path, "cluster.yaml"))
    (tmp_path / "cluster.yaml").write_text("name: spark\nmaster: yarn\nscratch: hdfs:///commlab/scratch\n"
                                           "executor_memory: 8g\n", encoding="utf-8")
    pb = load_playbook(_playbook(tmp_path, "cluster.yaml"))
    assert pb.engine == {"name": "spark", "options": {"master": "yarn", "scratch": "hdfs:///commlab/scratch",
                                                      "executor_memory": "8g"}}


def test_commlab_run_exits_4_on_bad_spark_settings(tmp_path):
    """From the command line: exit code 4 and one line naming the file and the setting, no traceback;
    -p engine_options is checked the same way."""
    path = _playbook(tmp_path, {"name": "spark", "driver_memory": "1 GB"})
    run = subprocess.run([sys.executable, "-m", "commlab", "run", str(path), "--runs-dir", str(tmp_path / "runs")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 4, run.stderr
    assert "engine: driver_memory: '1 GB' is not a JVM memory size" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "runs").exists()
    run = subprocess.run([sys.executable, "-m", "commlab", "run", str(REPO / "playbooks" / "demo.yaml"),
                          "--runs-dir", str(tmp_path / "runs"), "-p", "engine", "spark",
                          "-p", "engine_options", '{"master": "local[2]", "scratch": "s3://bucket/x"}'],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 4, run.stderr
    assert "write 's3a://bucket/x'" in run.stderr and "Traceback" not in run.stderr
    with pytest.raises(ParameterError):
        plan_run(load_playbook(REPO / "playbooks" / "demo.yaml"),
                 overrides={"engine": "spark", "engine_options": '{"master": "yarn"}'})


SESSION = '''
import sys
from commlab.engines.spark import cluster_session
spark = cluster_session("local[1]", {"spark.pyspark.python": sys.argv[1], "spark.ui.enabled": "false"})
df = spark.createDataFrame([(1, 2.0), (1, 3.0), (2, 5.0)], "g int, x double")
out = df.groupBy("g").applyInPandas(lambda p: p.assign(x=p["x"].sum()).head(1), "g int, x double").toPandas()
print(sorted(out["x"]))
spark.stop()
'''


@pytest.mark.spark
def test_cluster_session_runs_udfs_with_the_configured_python(tmp_path: Path):
    """``spark.pyspark.python`` in a playbook's Spark settings names the interpreter (with commlab) the executors
    run pandas UDFs with; pyspark outside spark-submit reads only ``PYSPARK_PYTHON``, so ``cluster_session``
    exports it. A wrapper interpreter records that the executors started it."""
    if (reason := spark_missing()) is not None:
        skip_unless_ci(reason, under_ci="CI=true, so the Spark tests must run")
    mark = tmp_path / "used"
    wrapper = tmp_path / "python-with-commlab"
    wrapper.write_text(f'#!/bin/sh\necho started >> "{mark}"\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    run = subprocess.run([sys.executable, "-c", SESSION, str(wrapper)], capture_output=True, text=True, timeout=600,
                         env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1] == "[5.0, 5.0]"
    assert mark.is_file() and "started" in mark.read_text()
