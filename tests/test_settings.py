"""Settings are read from the environment at the boundary only and reach the rest as arguments.

``commlab.settings.settings_from_env`` is the one reader of the environment; the command line, the
runner and the notebooks call it and pass the values on. :func:`environment_reads` finds, with
:mod:`ast`, every read of ``os.environ``/``os.getenv`` and every call of ``settings_from_env`` in a
package; only the modules of :data:`BOUNDARY` may hold them.
"""

from __future__ import annotations

import ast
import secrets
from pathlib import Path

import pandas as pd
import pytest

from commlab.errors import UsageError
from commlab.privacy import pseudonymize
from commlab.settings import CACHE_ENV, KEY_ENV, STREAM_ENV, Settings, settings_from_env

SRC = Path(__file__).resolve().parents[1] / "src"

#: Modules allowed to read the environment (``env``) or to call ``settings_from_env`` (``call``), with the reason.
BOUNDARY: dict[str, tuple[set[str], str]] = {
    "commlab.settings": ({"env"}, "the one reader of COMMLAB_PSEUDONYM_KEY, COMMLAB_DATA_CACHE and "
                                  "COMMLAB_STREAM_EVENTS (settings_from_env)"),
    "commlab.cli": ({"call"}, "the command line: reads the settings once per command and passes them on"),
    "commlab.runner": ({"env", "call"}, "runs the notebooks in kernels, separate processes that inherit its "
                       "environment: reads the variable a playbook names for the key (privacy.key_env) and "
                       "sets the key and the run's data cache for the kernels, restoring them afterwards"),
    "commlab.engines.spark": ({"env"}, "not a commlab setting: points the JVM that pyspark starts (a separate "
                              "process) at the JDK `make setup` installed, through JAVA_HOME, when no Java is "
                              "configured"),
}


def environment_reads(src: Path, package: str = "commlab") -> dict[str, list[tuple[str, int]]]:
    """Module -> ``[(kind, line), ...]``: ``env`` for a use of ``os.environ``/``os.getenv``/``os.putenv``
    (or those names imported from ``os``), ``call`` for a call of ``settings_from_env``."""
    found: dict[str, list[tuple[str, int]]] = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        hits = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv", "putenv") \
                    and isinstance(node.value, ast.Name) and node.value.id == "os":
                hits.append(("env", node.lineno))
            elif isinstance(node, ast.ImportFrom) and node.module == "os" and \
                    {a.name for a in node.names} & {"environ", "environb", "getenv", "putenv"}:
                hits.append(("env", node.lineno))
            elif isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
                if name == "settings_from_env":
                    hits.append(("call", node.lineno))
        if hits:
            found[mod] = hits
    return found


def test_no_module_below_the_boundary_reads_the_environment():
    found = environment_reads(SRC)
    wrong = {mod: [(kind, line) for kind, line in hits if kind not in BOUNDARY.get(mod, (set(), ""))[0]]
             for mod, hits in found.items()}
    wrong = {mod: hits for mod, hits in wrong.items() if hits}
    assert wrong == {}, ("settings are read at the boundary (commlab.settings.settings_from_env, called by the "
                         f"CLI, the runner or a notebook) and passed down as arguments: {wrong}")
    # every allowance is still needed
    unused = {mod for mod, (kinds, _) in BOUNDARY.items() if not kinds <= {k for k, _ in found.get(mod, [])}}
    assert unused == set(), f"allowances no longer needed: {unused}"


def test_the_scan_finds_every_form(tmp_path):
    pkg = tmp_path / "fake"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "data" / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "data" / "a.py").write_text("import os\nx = os.environ.get('K')\n", encoding="utf-8")
    (pkg / "data" / "b.py").write_text("import os\n\ndef f():\n    return os.getenv('K')\n", encoding="utf-8")
    (pkg / "data" / "c.py").write_text("from os import environ as e\n", encoding="utf-8")
    (pkg / "data" / "d.py").write_text("import commlab.settings as s\n\ndef g():\n    return s.settings_from_env()\n",
                                       encoding="utf-8")
    (pkg / "data" / "e.py").write_text("import os\nos.environ['K'] = 'v'\nos.path.join('a')\n", encoding="utf-8")
    (pkg / "clean.py").write_text("import os\nprint(os.getpid(), 'os.environ')\n", encoding="utf-8")
    assert environment_reads(tmp_path, "fake") == {
        "fake.data.a": [("env", 2)], "fake.data.b": [("env", 4)], "fake.data.c": [("env", 1)],
        "fake.data.d": [("call", 4)], "fake.data.e": [("env", 2)]}


def test_settings_from_env_reads_the_three_variables():
    env = {KEY_ENV: "k1", CACHE_ENV: "/tmp/c", STREAM_ENV: " Always ", "CLIENT_KEY": "k2"}
    s = settings_from_env(env)
    assert s == Settings(pseudonym_key="k1", cache_dir=Path("/tmp/c"), stream_events=True)
    assert settings_from_env(env, key_env="CLIENT_KEY").pseudonym_key == "k2"
    assert settings_from_env({}) == Settings() == settings_from_env({KEY_ENV: "", CACHE_ENV: "", STREAM_ENV: ""})
    assert settings_from_env({STREAM_ENV: "never"}).stream_events is False
    assert settings_from_env({STREAM_ENV: "auto"}).load_options() == {"cache": None, "stream": None}
    with pytest.raises(UsageError, match="COMMLAB_STREAM_EVENTS='sometimes': use auto, always or never"):
        settings_from_env({STREAM_ENV: "sometimes"})


def test_the_key_is_never_shown():
    key = "key-" + secrets.token_hex(8)
    s = Settings(pseudonym_key=key, cache_dir=Path("/tmp/c"))
    shown = [repr(s), str(s), f"{s}", f"{s!r}", repr([s]), repr({"s": s})]
    assert all(key not in text and "<set>" in text for text in shown), shown
    assert "pseudonym_key=None" in repr(Settings())


def test_pseudonyms_take_the_key_as_an_argument_not_from_the_environment(monkeypatch):
    ids = pd.Series(["member_0001"])
    monkeypatch.setenv(KEY_ENV, "env-key")
    keyed = pseudonymize(ids, "env-key").iloc[0]
    assert pseudonymize(ids).iloc[0] != keyed  # no key given: the process's random key, not the environment's
    assert pseudonymize(ids, settings_from_env().pseudonym_key).iloc[0] == keyed
