"""Playbook files: a named, ordered list of notebooks with their parameters.

A playbook is a YAML file validated on load into :class:`Playbook`. Unknown
keys and wrong types are rejected with a :class:`~commlab.errors.PlaybookError`
naming the file and the key, for example::

    playbooks/demo.yaml: steps.0.parameters: expected a mapping, given list

Relative paths (``data``, ``steps[].notebook``, ``rules.library``) resolve against the folder
of the playbook file, so a playbook runs the same from any working folder.

A playbook is confined (it may come from someone else): a step's notebook must lie in a
notebook folder the user trusts (:func:`notebook_folders`: ``notebooks/`` beside the
playbook's folder or in it, the kit's own ``notebooks/``, or a folder named on the command line
with ``--notebooks-dir``), and a rule library under the playbook's folder (another one is given
on the command line with ``--rules``); absolute paths and ``..`` escapes are refused. A key
given twice in the YAML is an error, not silently the last value.

Shape::

    name: demo                      # [a-z0-9-]+ ; the runs folder name
    title: {zh: 社群概览演示, en: Community overview demo}
    description: ...
    data: ../data/samples           # optional; injected as data_dir
    parameters: {as_of: "2024-06-30", lang: zh, communities: []}   # every step
    steps:
      - notebook: ../notebooks/01_overview.ipynb
        name: overview              # optional; default: the notebook's file stem
        parameters: {}              # per-step overrides
        after: [overview]           # optional; the earlier steps it needs (default: all), used with jobs
    jobs: 2                         # optional; steps run at once (default 1: one after another)
    report: {lang: zh, title: {zh: ..., en: ...}, client: "", sections: [],
             summary_step: recommendations, k_anonymity: 5, appendix: true,
             top_actions: 6}                # recommendations in the client part, 1-20
    rules: {library: default, disable: [rule ids], extra: [inline rules]}   # see commlab.rules
    privacy: {key_env: CLIENT_PSEUDONYM_KEY}   # env variable holding the pseudonym key
    engine: {name: spark, master: "spark://host:7077", driver_memory: 1g, executor_memory: 8g,
             scratch: "hdfs://namenode:8020/commlab/scratch", conf: {spark.sql.shuffle.partitions: 400}}
                                    # or a file beside the playbook holding that mapping: engine: spark.yaml

YAML dates are read as text (``as_of: 2024-06-30`` is the string
``"2024-06-30"``), because notebook parameters carry dates as ISO strings.
"""

from __future__ import annotations

import difflib
import keyword
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from commlab.errors import PlaybookError, UsageError

__all__ = [
    "Text",
    "Step",
    "ReportSettings",
    "RulesSettings",
    "PrivacySettings",
    "Playbook",
    "RESERVED_PARAMETERS",
    "load_playbook",
    "find_playbooks",
    "notebook_folders",
    "with_rules_library",
    "engine_settings",
]

#: Parameters the runner sets itself; a playbook may not set them.
RESERVED_PARAMETERS: tuple[str, ...] = ("data_dir", "output_dir", "prev_output_dirs", "rules_file",
                                        "previous_summary")

_NAME = r"^[a-z0-9][a-z0-9-]*$"
_STEP_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Model(BaseModel):
    """Base of every playbook model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Text(_Model):
    """A text in Chinese and English; a plain string fills both."""

    zh: str = ""
    en: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"zh": value, "en": value}
        return value

    def get(self, lang: str) -> str:
        """The text in ``lang``, falling back to the other language."""
        first, second = (self.zh, self.en) if lang == "zh" else (self.en, self.zh)
        return first or second


def _check_parameter_names(params: dict[str, Any]) -> dict[str, Any]:
    for name in params:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"parameter name {name!r} is not a Python identifier")
        if name in RESERVED_PARAMETERS:
            raise ValueError(
                f"parameter {name!r} is set by the runner"
                + (" (use the top-level 'data' key)" if name == "data_dir" else "")
            )
    return params


def _resolve(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    path = Path(value).expanduser()
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    return path.resolve() if base is not None else path


#: The kit's own ``notebooks/`` folder when commlab runs from its source tree (``src/commlab``).
def _kit_notebooks() -> Path | None:
    package = Path(__file__).resolve().parent
    root = package.parents[1]
    folder = root / "notebooks"
    return folder if (root / "pyproject.toml").is_file() and folder.is_dir() else None


def notebook_folders(playbook_dir: str | Path, extra: list[str | Path] | tuple[str | Path, ...] = ()) -> list[Path]:
    """The folders a playbook in ``playbook_dir`` may run notebooks from, resolved.

    ``notebooks/`` in the playbook's folder and beside it (``<project>/playbooks/x.yaml`` runs
    ``<project>/notebooks/``), the kit's own ``notebooks/`` and the folders in ``extra`` (given on
    the command line with ``--notebooks-dir``); those that exist.
    """
    base = Path(playbook_dir).resolve()
    found = [base / "notebooks", base.parent / "notebooks", _kit_notebooks(), *(Path(e) for e in extra)]
    out: list[Path] = []
    for f in found:
        if f is not None and f.is_dir() and f.resolve() not in out:
            out.append(f.resolve())
    return out


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _confined(value: Path, info: ValidationInfo, what: str, folders: list[Path], fix: str) -> Path:
    """``value`` resolved against the playbook's folder; refused when absolute or outside ``folders``."""
    written = Path(value)
    if written.is_absolute() or str(written).startswith("~"):
        raise ValueError(f"{what} {str(written)!r} is an absolute path; a playbook names it relative to its "
                         f"own folder (e.g. {fix})")
    path = _resolve(written, info)
    if not any(_inside(path, f) for f in folders):
        where = ", ".join(str(f) for f in folders) or "(none exists)"
        raise ValueError(f"{what} {str(written)!r} resolves to {path}, outside the folders a playbook may use "
                         f"({where})")
    return path


class Step(_Model):
    """One notebook of a playbook.

    Attributes
    ----------
    notebook : Path
        The notebook to run (absolute once loaded from a file).
    name : str
        Name of the step: its folder in the run and its key in ``summary.json``.
        Defaults to the notebook's file stem.
    title : Text, optional
        Heading of the step in the report; defaults to the notebook's first
        ``#`` heading.
    parameters : dict
        Parameters for this step only; they override the playbook's.
    after : list of str, optional
        The earlier steps this one needs (it reads tables or files they leave in the run). Only a
        playbook with ``jobs`` above 1 uses it: the step starts once those steps have succeeded, or
        passed their cell tagged ``tables-stored`` (:data:`commlab.notebook_exec.READY_TAG`), while
        others still run. Unset: every earlier step, as in a run one step at a time.
    """

    notebook: Path
    name: str = Field(default="", pattern=r"^$|" + _STEP_NAME)
    title: Text | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    after: list[str] | None = None

    @field_validator("notebook")
    @classmethod
    def _notebook_exists(cls, value: Path, info: ValidationInfo) -> Path:
        context = info.context or {}
        if "base_dir" in context:  # read from a file: the notebook must be in a trusted folder
            folders = notebook_folders(context["base_dir"], context.get("notebooks_dirs", ()))
            path = _confined(value, info, "notebook", folders,
                             "../notebooks/01_overview.ipynb; name another folder with --notebooks-dir")
        else:
            path = _resolve(value, info)
        if info.context and not path.is_file():
            raise ValueError(f"notebook not found: {path}")
        if path.suffix != ".ipynb":
            raise ValueError(f"not a notebook (.ipynb): {path}")
        return path

    @field_validator("parameters")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_parameter_names(value)

    @model_validator(mode="after")
    def _default_name(self) -> Step:
        if not self.name:
            stem = self.notebook.stem
            if not re.match(_STEP_NAME, stem):
                raise ValueError(f"cannot use the notebook name {stem!r} as a step name; add 'name: ...'")
            self.name = stem
        return self


class ReportSettings(_Model):
    """How the run's ``report.html`` looks.

    Attributes
    ----------
    lang : {"zh", "en"}
        Language of the page (``<html lang>`` and the title).
    title : Text, optional
        Page title; defaults to the playbook title.
    client : str
        Who the report is for, shown under the title ("" to omit).
    sections : list of str
        Step names to include, in order; empty means every step.
    summary_step : str
        A step shown first in the report (the executive summary), whatever its place in the
        execution order; "" keeps the order of ``sections`` (or of the steps).
    k_anonymity : int, default 5
        Groups smaller than this are suppressed in report tables; passed to every step that
        declares ``k_min_group`` (unless the playbook sets that parameter itself).
    appendix : bool, default True
        End the report with the methods appendix (metric definitions, data sources and
        licences, resolved parameters, run manifest).
    top_actions : int, default 6
        How many recommendations the client part shows as cards, the most severe first (each
        community's first before any second); 1 to 20. The others are counted under the cards,
        and every recommendation is in the appendix.
    """

    lang: Literal["zh", "en"] = "zh"
    title: Text | None = None
    client: str = ""
    sections: list[str] = Field(default_factory=list)
    summary_step: str = ""
    k_anonymity: int = 5
    appendix: bool = True
    top_actions: int = 6

    @field_validator("top_actions")
    @classmethod
    def _top_actions_bounded(cls, value: int) -> int:
        from commlab.report_view import CLIENT_ACTIONS_MAX

        if not 1 <= value <= CLIENT_ACTIONS_MAX:
            raise ValueError(f"top_actions must be from 1 to {CLIENT_ACTIONS_MAX} (the recommendations shown as "
                             f"cards in the client part; all are in the appendix); given {value}")
        return value

    @field_validator("k_anonymity")
    @classmethod
    def _k_floor(cls, value: int) -> int:
        from commlab.privacy import MIN_K

        if value < MIN_K:
            raise ValueError(f"k_anonymity must be at least {MIN_K} (below it a group of one member is shown and "
                             f"small-group suppression is off); given {value}")
        return value


class RulesSettings(_Model):
    """Which recommendation rules a run evaluates.

    Attributes
    ----------
    library : str, default "default"
        ``default`` (the shipped ``commlab/rules_library.yaml``) or a YAML rule file, relative to
        the playbook and under its folder (another file is given on the command line:
        :func:`with_rules_library`).
    extra : list of dict
        Inline rules added to the library (same shape as the library's rules).
    disable : list of str
        Rule ids (of the library or ``extra``) not to evaluate; an unknown id is an error.
    """

    library: str = "default"
    extra: list[dict[str, Any]] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list)

    @field_validator("library")
    @classmethod
    def _library(cls, value: str, info: ValidationInfo) -> str:
        if value == "default":
            return value
        context = info.context or {}
        if "base_dir" in context and not context.get("trusted_library"):
            path = _confined(Path(value), info, "rule library", [Path(context["base_dir"]).resolve()],
                             "rules.yaml beside the playbook; give another file with --rules")
        else:
            path = _resolve(Path(value), info)
        if info.context and not path.is_file():
            raise ValueError(f"rule file not found: {path}")
        if info.context:
            _load_rules(path)
        return str(path)

    @field_validator("extra")
    @classmethod
    def _extra(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if value:
            _load_rules(value)
        return value

    @field_validator("disable")
    @classmethod
    def _disable(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value or "library" not in info.data or "extra" not in info.data:
            return value  # an earlier key is already invalid and reported
        if info.data["library"] != "default" and not Path(info.data["library"]).is_file():
            return value
        known = [r.id for r in _library_rules(info.data["library"])] + [str(r.get("id")) for r in info.data["extra"]]
        unknown = [v for v in value if v not in known]
        if unknown:
            hint = "".join(
                f"; did you mean {c[0]!r} for {u!r}?" for u in unknown
                if (c := difflib.get_close_matches(u, known, n=1))
            )
            raise ValueError(f"unknown rule id(s) {unknown} (known: {', '.join(known)}){hint}")
        return value

    def resolved(self) -> list[Any]:
        """The rules to evaluate: library plus ``extra``, minus ``disable`` (a list of ``commlab.rules.Rule``).

        Raises
        ------
        PlaybookError
            If the combined rules are invalid (a duplicate id between the library and ``extra``).
        """
        from commlab.rules import load_rules

        rules = _library_rules(self.library) + (load_rules(self.extra) if self.extra else [])
        ids = [r.id for r in rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise PlaybookError(f"rules.extra: rule id(s) {dup} already in the library; pick other ids")
        return [r for r in rules if r.id not in set(self.disable)]


def _library_rules(library: str) -> list[Any]:
    from commlab.rules import default_rules, load_rules

    return default_rules() if library == "default" else load_rules(library)


def _load_rules(source: Path | list[dict[str, Any]]) -> None:
    """Validate rules, turning the rules' own error into a validation error of the playbook key."""
    from commlab.rules import load_rules

    try:
        load_rules(source)
    except PlaybookError as exc:
        raise ValueError(str(exc).replace("<rules>: rules.", "rule ")) from None


class PrivacySettings(_Model):
    """Where the key of the member pseudonyms comes from.

    Attributes
    ----------
    key_env : str
        Name of the environment variable holding the key (default: ``COMMLAB_PSEUDONYM_KEY``
        when it is set). The key itself is never written to the playbook, the manifest or any
        output. Without a key, pseudonyms are stable within one run only.
    """

    key_env: str = Field(default="", pattern=r"^$|^[A-Za-z_][A-Za-z0-9_]*$")


class Playbook(_Model):
    """A validated playbook. Build it with :func:`load_playbook`.

    Attributes
    ----------
    name : str
        Lower-case letters, digits and ``-``; names the runs folder.
    title : Text
        Title in zh and en.
    description : str
        Free text.
    data : Path, optional
        The data folder, injected into every step as ``data_dir``.
    parameters : dict
        Parameters passed to every step.
    steps : list of Step
        The notebooks, in execution order.
    report : ReportSettings
        Settings of the combined report.
    engine : dict, optional
        The engine every step that declares ``engine`` computes with, ``{"name": ..., "options": {...}}``
        (:func:`engine_settings`); a step's own ``engine`` parameter and ``-p engine`` take precedence.
    jobs : int, default 1
        How many steps may run at once, each in its own process and kernel (1-8). A step starts when
        the steps it comes ``after`` have succeeded or stored their tables (:mod:`commlab.step_pool`);
        a step past its ``tables-stored`` cell no longer counts. When one fails, the others are
        stopped. Each running step has its own memory bound (``engine_options``), so the run's memory
        is about ``jobs`` (plus the steps finishing their figures) times a step's.
    """

    name: str = Field(pattern=_NAME)
    title: Text
    description: str = ""
    data: Path | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    report: ReportSettings = Field(default_factory=ReportSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    engine: dict[str, Any] | None = None
    jobs: int = Field(default=1, ge=1, le=8)
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file the playbook was read from (set by :func:`load_playbook`)."""
        return self._source

    @field_validator("data")
    @classmethod
    def _data_exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        path = _resolve(value, info)
        if info.context and info.context.get("data_required", True) and not path.is_dir():
            raise ValueError(f"data folder not found: {path}")
        return path

    @field_validator("parameters")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_parameter_names(value)

    @field_validator("engine", mode="before")
    @classmethod
    def _engine(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):  # a settings file beside the playbook (kept out of the playbook, e.g. per cluster)
            path = _confined(Path(value), info, "engine settings file", [_resolve(Path("."), info)],
                             "engine: spark.yaml")
            if not path.is_file():
                raise ValueError(f"engine settings file not found: {path}")
            value = _read_yaml(path)
            if not isinstance(value, dict):
                raise ValueError(f"{path}: expected a mapping of engine settings (name: spark, master: ...), "
                                 f"given {type(value).__name__}")
        if value is None:
            return None
        if not isinstance(value, dict):
            return value  # pydantic names the type
        return engine_settings(value)

    @model_validator(mode="after")
    def _unique_steps(self) -> Playbook:
        seen: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                raise ValueError(f"two steps are named {step.name!r}; give one of them another 'name'")
            later = [n for n in step.after or () if n not in seen]
            if later:
                raise ValueError(f"step {step.name!r}: 'after' names {later}, which is not an earlier step; "
                                 f"a step comes after steps listed before it (earlier steps: {sorted(seen)})")
            seen.add(step.name)
        unknown = [s for s in self.report.sections if s not in seen]
        if unknown:
            raise ValueError(f"report.sections names unknown step(s) {unknown}; steps: {sorted(seen)}")
        if self.report.summary_step and self.report.summary_step not in seen:
            raise ValueError(
                f"report.summary_step names unknown step {self.report.summary_step!r}; steps: {sorted(seen)}"
            )
        return self

    def report_order(self) -> list[str]:
        """Step names in report order: the summary step first, then ``report.sections`` (or every step)."""
        names = list(self.report.sections) or [s.name for s in self.steps]
        first = self.report.summary_step
        if first:
            names = [first] + [n for n in names if n != first]
        return names

    def step(self, name: str) -> Step:
        """The step called ``name``."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def label(self) -> str:
        """How messages refer to the playbook: its file, or its name."""
        return str(self.source) if self.source else self.name


class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates and times as strings."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    """A YAML mapping, refusing a key written twice (YAML would silently keep the last value)."""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: SafeLoader reports it
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"key {key!r} is given twice (first on line {first}); keep one", key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_TextDatesLoader.add_constructor("tag:yaml.org,2002:map", _mapping_without_duplicates)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlaybookError(f"{path}: not UTF-8 text ({exc.reason}); save the playbook as UTF-8") from exc
    try:
        return yaml.load(text, Loader=_TextDatesLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookError(f"{path}: {where}invalid YAML: {problem}") from exc


def engine_settings(value: dict[str, Any]) -> dict[str, Any]:
    """A playbook's ``engine`` section checked: ``{"name": ..., "options": {...}}``.

    ``name`` (default ``duckdb``) is an engine of :data:`commlab.engines.ENGINES`; the other keys are
    its options (``SparkEngine``: ``master``, ``driver_memory``, ``executor_memory``, ``scratch``,
    ``conf``; ``DuckDBEngine``: ``memory_limit``, ``threads``, ``temp_directory``), checked by
    :func:`commlab.engines.check_engine` without starting the engine.

    Raises
    ------
    ValueError
        Naming the setting and a correct spelling (a :class:`~commlab.errors.PlaybookError`, exit
        code 4, when read from a playbook).
    """
    from commlab.engines import check_engine

    options = dict(value)
    name = options.pop("name", "duckdb")
    if "options" in options and set(options) == {"options"} and isinstance(options["options"], dict):
        options = dict(options["options"])  # the normalised form itself
    try:
        check_engine(str(name), options)
    except UsageError as exc:  # unknown engine or option, a missing package, a bad value
        raise ValueError(str(exc).removeprefix("engine ")) from None
    return {"name": str(name), "options": options}


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Keys the model at ``loc`` (the parent of an unknown key) accepts."""
    model: Any = Playbook
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return []
        ann = field.annotation
        for candidate in (ann, *getattr(ann, "__args__", ())):
            inner = getattr(candidate, "__args__", (candidate,))
            hit = next((c for c in (candidate, *inner) if isinstance(c, type) and issubclass(c, BaseModel)), None)
            if hit is not None:
                model = hit
                break
        else:
            return []
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return list(model.model_fields)


def _describe(err: dict[str, Any]) -> str:
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    where = ".".join(str(p) for p in loc) or "(top level)"
    given = type(err.get("input")).__name__
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{where}: unknown key (allowed: {', '.join(allowed)}){hint}"
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{where}: expected a mapping, given {given}"
    if kind == "list_type":
        return f"{where}: expected a list, given {given}"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "name":
        return f"{where}: {err.get('input')!r} must use lower-case letters, digits and '-' only"
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    if kind in ("string_type", "int_type", "float_type", "bool_type", "literal_error", "path_type"):
        msg += f" (given {err.get('input')!r})"
    return f"{where}: {msg}"


def load_playbook(path: str | Path, *, notebooks_dirs: list[str | Path] | tuple[str | Path, ...] = (),
                  data_required: bool = True) -> Playbook:
    """Read and validate a playbook file.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    notebooks_dirs : list of str or Path, optional
        Further folders its steps may run notebooks from (``--notebooks-dir``), besides
        :func:`notebook_folders`.
    data_required : bool, default True
        Whether the playbook's own ``data`` folder must exist. False where another folder
        replaces it (``commlab run --data``) or where playbooks are only listed.

    Returns
    -------
    Playbook
        With ``data`` and every ``steps[].notebook`` resolved to absolute paths
        and ``source`` set to ``path``.

    Raises
    ------
    UsageError
        If ``path`` does not exist.
    PlaybookError
        If the file is not valid YAML (a key given twice included) or does not match the
        playbook shape (the message names the file and the key), a notebook or the data folder
        does not exist, a notebook lies outside the allowed folders or the rule library outside
        the playbook's folder.
    """
    path = Path(path)
    for folder in notebooks_dirs:
        if not Path(folder).is_dir():
            raise UsageError(f"--notebooks-dir: folder not found: {folder}")
    if not path.is_file():
        raise UsageError(f"playbook not found: {path}")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise PlaybookError(f"{path}: expected a mapping with name, title and steps; given {type(raw).__name__}")
    try:
        pb = Playbook.model_validate(raw, context={"base_dir": path.resolve().parent,
                                                   "notebooks_dirs": tuple(notebooks_dirs),
                                                   "data_required": data_required})
    except ValidationError as exc:
        errors = exc.errors()
        raise PlaybookError(f"{path}: " + "; ".join(_describe(e) for e in errors)) from None
    pb._source = path
    return pb


def with_rules_library(pb: Playbook, library: str | Path) -> Playbook:
    """``pb`` evaluating the rule file ``library`` (given on the command line, so trusted) instead.

    Raises
    ------
    UsageError
        If the file does not exist.
    PlaybookError
        If it is not a valid rule file, or ``rules.disable`` names a rule it lacks.
    """
    path = Path(library).expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"--rules: rule file not found: {path}")
    try:
        rules = RulesSettings.model_validate(
            {**pb.rules.model_dump(), "library": str(path)},
            context={"base_dir": path.parent, "trusted_library": True},
        )
    except ValidationError as exc:
        raise PlaybookError(f"{path}: " + "; ".join(_describe(e) for e in exc.errors())) from None
    out = pb.model_copy(update={"rules": rules})
    out._source = pb.source
    return out


def find_playbooks(folder: str | Path = "playbooks") -> list[tuple[Path, Playbook | PlaybookError]]:
    """Every ``*.yaml`` / ``*.yml`` file in ``folder``, loaded.

    Returns
    -------
    list of (Path, Playbook or PlaybookError)
        Sorted by file name; an invalid file comes with its error instead of
        stopping the listing.

    Raises
    ------
    UsageError
        If ``folder`` does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"playbook folder not found: {folder}")
    out: list[tuple[Path, Playbook | PlaybookError]] = []
    for f in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            out.append((f, load_playbook(f, data_required=False)))
        except PlaybookError as exc:
            out.append((f, exc))
    return out
