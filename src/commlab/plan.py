"""The checked plan of a run: which parameters each step receives.

:func:`plan_run` resolves every step's parameters (playbook, then step,
then overrides) and checks each one against the parameters the notebook
declares, *before* anything executes. Any unknown or wrongly typed
parameter raises :class:`~commlab.errors.ParameterError`.

A notebook may also declare, in its own metadata, the community-metric period sets it will ask an
engine for (``metadata.commlab.period_sets``, :func:`notebook_period_sets`); each plan resolves them
against the step's parameters (:meth:`StepPlan.period_sets`) and the runner declares them to the
run's table cache, so the first metric request of the run computes them all in one pass
(:mod:`commlab.engines.runcache`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from commlab.engines.runcache import period_set
from commlab.errors import ParameterError, PlaybookError, UsageError
from commlab.parameters import CHOICES, NotebookParameter, check_range, check_value, coerce_value, notebook_parameters
from commlab.playbook import RESERVED_PARAMETERS, Playbook, Step

__all__ = ["PERIOD_SET_KEYS", "StepPlan", "notebook_period_sets", "plan_run"]

#: The keys of one declared period set: ``window`` (``"month"``, ``"week"`` or ``"none"``: the periods of
#: that calendar unit up to the instant, or one period up to it; default ``"none"``) and ``last_days``
#: (a whole number of days: one period of that many days up to the instant). Either may instead name
#: one of the notebook's parameters, ``{"parameter": "window"}``, whose value the step runs with.
PERIOD_SET_KEYS = ("window", "last_days")


@dataclass
class StepPlan:
    """One step with its checked parameters.

    Attributes
    ----------
    step : Step
        The playbook step.
    declared : dict of str to NotebookParameter
        What the notebook declares.
    parameters : dict
        The parameters the playbook passes (playbook, step, overrides), checked.
        The runner adds ``data_dir``, ``output_dir`` and, when declared,
        ``prev_output_dirs``, ``rules_file``, ``previous_summary`` and ``k_min_group``.
    """

    step: Step
    declared: dict[str, NotebookParameter]
    parameters: dict[str, Any] = field(default_factory=dict)
    asks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The step name."""
        return self.step.name

    @property
    def notebook(self) -> Path:
        """The notebook path."""
        return self.step.notebook

    def defaults(self) -> dict[str, Any]:
        """Declared parameters not passed, with the notebook's default values."""
        return {k: p.default_value for k, p in self.declared.items() if k not in self.parameters
                and k not in RESERVED_PARAMETERS}

    def effective(self, name: str) -> Any:
        """The value ``name`` takes when the step runs (passed or default), or ``None``."""
        if name in self.parameters:
            return self.parameters[name]
        p = self.declared.get(name)
        return p.default_value if p is not None else None

    def period_sets(self) -> list[dict[str, Any]]:
        """The metric period sets the notebook declares (:attr:`asks`), with the step's parameter values.

        Returns
        -------
        list of dict
            ``{"window": "month" | "week" | None, "last_days": int | None}`` (see
            :func:`commlab.engines.runcache.period_set`), without repeats; a set whose parameter has a
            value the notebook will reject itself is left out.
        """
        sets: list[dict[str, Any]] = []
        for ask in self.asks:
            values = {k: self.effective(v["parameter"]) if isinstance(v, Mapping) else v for k, v in ask.items()}
            window, days = values.get("window"), values.get("last_days")
            if window is not None and str(window).strip().lower() not in CHOICES["window"]:
                continue
            if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
                continue
            one = period_set(window, days)
            if one not in sets:
                sets.append(one)
        return sets


def _unknown(where: str, name: str, declared: dict[str, NotebookParameter]) -> ParameterError:
    if not declared:
        return ParameterError(
            f"{where}: parameter {name!r} is passed but the notebook has no cell tagged 'parameters'"
        )
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ParameterError(
        f"{where}: parameter {name!r} is not declared by the notebook "
        f"(declared: {', '.join(declared)}){hint}"
    )


def _read_metadata(notebook: Path) -> Mapping[str, Any]:
    try:
        meta = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise PlaybookError(f"{notebook}: not a readable notebook ({type(exc).__name__}: {exc})") from None
    return meta if isinstance(meta, Mapping) else {}


def notebook_period_sets(notebook: str | Path, declared: Mapping[str, NotebookParameter] | None = None
                         ) -> list[dict[str, Any]]:
    """The metric period sets ``notebook`` declares it asks for, from ``metadata.commlab.period_sets``.

    A notebook that asks an engine for community metrics (``cl.compute_metrics`` or a step object
    that calls it) declares the periods it will ask for in its own metadata (Jupyter: *Edit → Edit
    Notebook Metadata*), so a playbook run computes the sets of all its steps in one pass, whatever the
    notebook's file name::

        "metadata": {"commlab": {"period_sets": [
            {"window": {"parameter": "window"}},           # the periods of its `window` parameter
            {"window": "none"},                            # one period up to the instant
            {"last_days": {"parameter": "period_days"}}    # the last `period_days` days
        ]}}

    Keys: :data:`PERIOD_SET_KEYS`. A notebook without the field declares nothing: its metric
    requests are computed when they come, each alone.

    Parameters
    ----------
    notebook : str or Path
        An ``.ipynb`` file.
    declared : mapping, optional
        The notebook's parameters (:func:`commlab.parameters.notebook_parameters`): a ``parameter``
        reference must name one of them.

    Returns
    -------
    list of dict
        The declaration as written (each value a literal or ``{"parameter": name}``), checked.

    Raises
    ------
    PlaybookError
        If the field is malformed, naming the notebook, the field and a correct spelling.

    Examples
    --------
    >>> [s for s in notebook_period_sets("notebooks/05_recommendations.ipynb")]
    [{'last_days': {'parameter': 'period_days'}}]
    """
    path = Path(notebook)
    meta = _read_metadata(path).get("commlab")
    if meta is None:
        return []
    example = '[{"window": {"parameter": "window"}}, {"last_days": 30}]'
    if not isinstance(meta, Mapping):
        raise PlaybookError(f"{path}: metadata.commlab must be a mapping such as {{\"period_sets\": {example}}}; "
                            f"given {meta!r}")
    asks = meta.get("period_sets", [])
    if not isinstance(asks, list):
        raise PlaybookError(f"{path}: metadata.commlab.period_sets must be a list such as {example}; given {asks!r}")
    out: list[dict[str, Any]] = []
    for i, ask in enumerate(asks):
        where = f"{path}: metadata.commlab.period_sets[{i}]"
        if not isinstance(ask, Mapping) or not ask or set(ask) - set(PERIOD_SET_KEYS):
            raise PlaybookError(f"{where} must be a mapping with the keys {' and/or '.join(PERIOD_SET_KEYS)}, "
                                f"e.g. {{\"window\": \"month\"}}; given {ask!r}")
        for key, value in ask.items():
            if isinstance(value, Mapping):
                name = value.get("parameter")
                if set(value) != {"parameter"} or not isinstance(name, str):
                    raise PlaybookError(f"{where}.{key}: a parameter is named as {{\"parameter\": \"<name>\"}}; "
                                        f"given {value!r}")
                if declared is not None and name not in declared:
                    close = difflib.get_close_matches(name, list(declared), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise PlaybookError(f"{where}.{key} names the parameter {name!r}, which the notebook does not "
                                        f"declare{hint}")
            elif key == "window" and (not isinstance(value, str) or value not in CHOICES["window"]):
                raise PlaybookError(f"{where}.window must be one of {', '.join(CHOICES['window'])} or "
                                    f"{{\"parameter\": \"<name>\"}}; given {value!r}")
            elif key == "last_days" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise PlaybookError(f"{where}.last_days must be a whole number of days (at least 1) or "
                                    f"{{\"parameter\": \"<name>\"}}; given {value!r}")
        out.append(dict(ask))
    return out


#: ``as_of`` relative to each community's creation (see ``commlab.analysis.metrics``).
_RELATIVE_AS_OF = re.compile(r"^created\+\d+d$")


def _check_as_of(value: str, where: str) -> None:
    if _RELATIVE_AS_OF.match(value.strip()):
        return
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(
            f"{where}: parameter 'as_of' must be an ISO date or time such as 2024-06-30 or "
            f"2024-06-30T23:59:59Z, or 'created+<N>d'; given {value!r}"
        ) from None


def _check_tz(value: str, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ParameterError(
            f"{where}: parameter 'tz' must name a time zone, e.g. Asia/Shanghai or UTC; given {value!r}"
        ) from None


def _check_engine(params: dict[str, Any], declared: dict[str, Any], where: str) -> None:
    """The step's ``engine`` (and ``engine_options``) can run here; see :func:`commlab.engines.check_engine`."""
    from commlab.engines import check_engine

    name = params.get("engine", declared["engine"].default_value)
    options = params.get("engine_options", declared["engine_options"].default_value
                         if "engine_options" in declared else None)
    try:
        check_engine(str(name), options if isinstance(options, dict) else None)
    except UsageError as exc:  # EngineNotFound, MissingDependency, InvalidArgument: the step's parameters are wrong
        raise ParameterError(f"{where}: {exc}") from None


def _playbook_engine(params: dict[str, Any], own: dict[str, Any], extra: dict[str, Any],
                     engine: dict[str, Any]) -> None:
    """The playbook's ``engine`` section for a step declaring ``engine``, below the step's own and ``-p``.

    Its options go with its engine only: ``-p engine duckdb`` on a Spark playbook runs DuckDB with
    DuckDB's defaults, not with the Spark settings.
    """
    if "engine" in own or "engine" in extra:
        if params.get("engine") == engine["name"] and "engine_options" not in own and "engine_options" not in extra:
            params["engine_options"] = dict(engine["options"])
        return
    params["engine"] = engine["name"]
    if "engine_options" not in own and "engine_options" not in extra:
        params["engine_options"] = dict(engine["options"])


def plan_run(
    playbook: Playbook,
    *,
    as_of: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[StepPlan]:
    """Resolve and check the parameters of every step; nothing is executed.

    Parameters
    ----------
    playbook : Playbook
        A loaded playbook.
    as_of : str, optional
        Sets ``as_of`` for every step that declares it.
    overrides : dict, optional
        Parameter values set for every step that declares them (the command
        line's ``-p KEY VALUE``). A string given for a parameter declared as
        ``int``, ``float``, ``bool``, ``list`` or ``dict`` is converted first.

    Returns
    -------
    list of StepPlan
        In execution order.

    Raises
    ------
    ParameterError
        If a parameter is not declared by a step's notebook, has the wrong type or a value out of
        range (:data:`commlab.parameters.CHOICES`, :data:`commlab.parameters.RANGES`: ``lang``,
        ``k_min_group`` below the privacy floor, ...), ``as_of`` is neither an ISO date/time nor
        ``created+<N>d``, ``tz`` names no time zone, an override is declared by no step, or a
        notebook does not declare ``output_dir`` (or ``data_dir`` when the playbook sets ``data``).
    UsageError, PlaybookError
        If a notebook is missing or unreadable, or its ``metadata.commlab`` is malformed
        (:func:`notebook_period_sets`).
    """
    extra = dict(overrides or {})
    if as_of is not None:
        extra["as_of"] = as_of
    for key in extra:
        if key in RESERVED_PARAMETERS:
            raise ParameterError(f"{playbook.label}: parameter {key!r} is set by the runner and cannot be overridden")

    plans: list[StepPlan] = []
    used: set[str] = set()
    for i, step in enumerate(playbook.steps):
        where = f"{playbook.label}: steps.{i} {step.name!r} ({step.notebook})"
        declared = notebook_parameters(step.notebook)
        params = {**playbook.parameters, **step.parameters}
        for key, value in extra.items():
            if key in declared:
                p = declared[key]
                params[key] = coerce_value(value, p.type) if isinstance(value, str) else value
                used.add(key)
        if playbook.engine is not None and "engine" in declared:
            _playbook_engine(params, step.parameters, extra, playbook.engine)
        for key, value in params.items():
            if key not in declared:
                raise _unknown(where, key, declared)
            check_value(value, declared[key], where=where)
        for key in declared:  # a default out of range is the notebook's own bug, but still caught here
            check_range(key, params[key] if key in params else declared[key].default_value, where=where)
        if isinstance(params.get("as_of"), str):
            _check_as_of(params["as_of"], where)
        if isinstance(params.get("tz"), str):
            _check_tz(params["tz"], where)
        k_min, k_max = (params.get(k, declared[k].default_value) if k in declared else None for k in ("k_min", "k_max"))
        if isinstance(k_min, int) and isinstance(k_max, int) and k_min > k_max:
            raise ParameterError(f"{where}: parameter 'k_min' ({k_min}) is larger than 'k_max' ({k_max})")
        if "engine" in declared:
            _check_engine(params, declared, where)
        required = ["output_dir"] + (["data_dir"] if playbook.data is not None else [])
        for key in required:
            if key not in declared:
                raise ParameterError(
                    f"{where}: the notebook must declare the parameter {key!r} (str) in its 'parameters' cell"
                )
        for key, sample in (("output_dir", ""), ("data_dir", ""), ("prev_output_dirs", {}), ("rules_file", ""),
                            ("previous_summary", "")):
            if key in declared:
                check_value(sample, declared[key], where=where + " [set by the runner]")
        plans.append(StepPlan(step, declared, params, notebook_period_sets(step.notebook, declared)))
    unused = sorted(set(extra) - used)
    if unused:
        raise ParameterError(
            f"{playbook.label}: no notebook of the playbook declares the parameter(s) {', '.join(map(repr, unused))}"
        )
    return plans
