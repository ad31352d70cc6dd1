"""Notebook parameters: what a notebook declares, and checking values against it.

A notebook declares its parameters in the cell tagged ``parameters``, one
typed literal per line with a trailing comment::

    as_of = "2024-06-30"  # ISO date, UTC
    min_size: int = 5     # smallest community kept

:func:`notebook_parameters` reads them with :func:`papermill.inspect_notebook`.
The type is the annotation when there is one, otherwise the type of the
default literal (``"..."`` is ``str``, ``5`` is ``int``, ``[]`` is ``list``);
a default of ``None`` or an expression leaves the type unknown (any value is
accepted). :func:`check_value` enforces the types ``str``, ``int``,
``float`` (an ``int`` is accepted), ``bool``, ``list`` and ``dict``.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from commlab.errors import ParameterError, PlaybookError, UsageError
from commlab.playbook import _TextDatesLoader

__all__ = ["NotebookParameter", "notebook_parameters", "check_value", "check_range", "coerce_value", "TYPES",
           "CHOICES", "RANGES"]

#: The parameter types the runner checks.
TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "list": list,
    "dict": dict,
}

#: The values a parameter the kit's notebooks share may take, checked for every notebook that declares it.
CHOICES: dict[str, tuple[str, ...]] = {
    "lang": ("zh", "en"),
    "source": ("canonical", "se_180d"),
    "method": ("kmeans", "gmm"),
    "period": ("D", "W"),
    "window": ("month", "week", "none"),
    "mixed": ("primary", "each"),  # commlab.analysis.compare.MIXED
}

#: Bounds of the numeric parameters the kit's notebooks share: ``(lowest, highest, open_low)``; ``None`` is
#: unbounded, ``open_low`` excludes the lowest value itself. ``k_min_group`` has the privacy floor
#: (:data:`commlab.privacy.MIN_K`).
RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    "k_min_group": (2, None, False),
    "seed": (0, None, False),
    "n_clusters": (0, None, False),
    "k_min": (2, None, False),
    "k_max": (2, None, False),
    "n_resamples": (0, None, False),
    "n_boot": (0, None, False),
    "newcomer_days": (0, None, True),
    "zombie_days": (0, None, True),
    "churn_days": (0, None, True),
    "core_min_ugc_30d": (0, None, False),
    "contributor_min_ugc_30d": (0, None, False),
    "p_alive_threshold": (0, 1, False),
    "period_days": (1, None, False),
    "top_n": (1, None, False),
}

_ANNOTATION_TYPES = {
    "str": "str", "int": "int", "float": "float", "bool": "bool",
    "list": "list", "List": "list", "Sequence": "list", "dict": "dict", "Dict": "dict", "Mapping": "dict",
}


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter declared in a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : str
        Variable name.
    type : str or None
        One of :data:`TYPES`, or ``None`` when it cannot be inferred.
    default : str
        The default as written in the cell (source text).
    help : str
        The trailing comment.
    """

    name: str
    type: str | None
    default: str
    help: str = ""

    @property
    def default_value(self) -> Any:
        """The default as a Python value, or the source text if it is not a literal."""
        try:
            return ast.literal_eval(self.default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return self.default


def _type_of(annotation: str, default: str) -> str | None:
    annotation = (annotation or "").strip()
    if annotation and annotation not in ("None", "NoneType"):
        base = re.split(r"[\[\s,]", annotation, maxsplit=1)[0]
        if base == "Optional":
            inner = annotation[annotation.find("[") + 1: annotation.rfind("]")]
            return _type_of(inner, "")
        return _ANNOTATION_TYPES.get(base)
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    name = type(value).__name__
    if name == "tuple":
        return "list"
    return name if name in TYPES else None


def notebook_parameters(notebook: str | Path) -> dict[str, NotebookParameter]:
    """The parameters ``notebook`` declares, in order.

    Parameters
    ----------
    notebook : str or Path
        An ``.ipynb`` file.

    Returns
    -------
    dict of str to NotebookParameter
        Empty if the notebook has no cell tagged ``parameters``.

    Raises
    ------
    UsageError
        If the file does not exist.
    PlaybookError
        If the file is not a readable notebook.
    """
    import papermill  # the runner layer owns papermill; imported here to keep `import commlab` light

    path = Path(notebook)
    if not path.is_file():
        raise UsageError(f"notebook not found: {path}")
    pm_log = logging.getLogger("papermill")
    level = pm_log.level
    pm_log.setLevel(logging.ERROR)  # its "Unable to parse line" warnings are handled below
    try:
        source = _parameters_source(path)
    except Exception as exc:  # noqa: BLE001 - nbformat/json raise many types for a broken file
        raise PlaybookError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc})") from None
    try:
        raw = papermill.inspect_notebook(str(path))
    except ValueError:  # no kernelspec in the notebook's metadata: rely on the parser below
        raw = {}
    finally:
        pm_log.setLevel(level)
    found = {
        name: NotebookParameter(
            name=name,
            type=_type_of(p.get("inferred_type_name", ""), p.get("default", "")),
            default=p.get("default", ""),
            help=p.get("help", ""),
        )
        for name, p in raw.items()
    }
    # papermill skips any line with two '=' (``communities = []  # empty = all``); Python's own
    # parser does not, so assignments papermill missed are added from it, in cell order.
    extra = _parse_assignments(source)
    if all(name in found for name in extra):
        return found
    order = [*extra, *(name for name in found if name not in extra)]
    return {name: found.get(name) or extra[name] for name in order}

def _parameters_source(path: Path) -> str:
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if "parameters" in (cell.get("metadata", {}).get("tags") or []):
            return cell.source
    return ""


def _parse_assignments(source: str) -> dict[str, NotebookParameter]:
    """Top-level ``name = literal`` / ``name: type = literal`` lines of a cell, with trailing comments."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    lines = source.splitlines()
    out: dict[str, NotebookParameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, annotation = node.targets[0].id, ""
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, annotation = node.target.id, ast.get_source_segment(source, node.annotation) or ""
        else:
            continue
        default = ast.get_source_segment(source, node.value) or ""
        tail = lines[node.end_lineno - 1][node.end_col_offset:].strip() if node.end_lineno else ""
        help_ = tail[1:].strip() if tail.startswith("#") else ""
        out[name] = NotebookParameter(name, _type_of(annotation, default), default, help_)
    return out


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_value(value: Any, declared: NotebookParameter, *, where: str) -> None:
    """Raise :class:`ParameterError` unless ``value`` fits ``declared.type``.

    ``bool`` is not accepted for ``int`` or ``float``; ``int`` is accepted for
    ``float``. An unknown declared type accepts anything.

    Parameters
    ----------
    value : object
        The value the playbook passes.
    declared : NotebookParameter
        What the notebook declares.
    where : str
        Prefix naming the playbook, step and notebook, for the message.
    """
    expected = declared.type
    if expected is None:
        return
    ok = isinstance(value, TYPES[expected])
    if isinstance(value, bool) and expected != "bool":
        ok = False
    if not ok:
        raise ParameterError(
            f"{where}: parameter {declared.name!r} expects {expected} "
            f"(notebook default {declared.default}), given {_type_name(value)} {value!r}"
        )


def check_range(name: str, value: Any, *, where: str) -> None:
    """Raise :class:`ParameterError` if ``value`` is outside what :data:`CHOICES` / :data:`RANGES` allow for ``name``.

    Values of the wrong type are left to :func:`check_value`; names not listed are not checked.
    """
    if name in CHOICES and isinstance(value, str) and value not in CHOICES[name]:
        raise ParameterError(f"{where}: parameter {name!r} must be one of {', '.join(CHOICES[name])}; given {value!r}")
    if name not in RANGES or isinstance(value, bool) or not isinstance(value, int | float):
        return
    low, high, open_low = RANGES[name]
    too_low = low is not None and (value <= low if open_low else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        bounds = []
        if low is not None:
            bounds.append(f"{'above' if open_low else 'at least'} {low:g}")
        if high is not None:
            bounds.append(f"at most {high:g}")
        floor = " (the privacy floor: small groups cannot be shown)" if name == "k_min_group" else ""
        raise ParameterError(f"{where}: parameter {name!r} must be {' and '.join(bounds)}{floor}; given {value!r}")


def coerce_value(text: str, expected: str | None) -> Any:
    """Convert command-line text to the declared type.

    Parameters
    ----------
    text : str
        The value as typed, for example ``"5"``, ``"true"``, ``"[a, b]"``.
    expected : str or None
        The declared type; ``None`` parses ``text`` as YAML (dates stay text).

    Returns
    -------
    object
        The converted value; text that does not convert is returned unchanged,
        so :func:`check_value` reports it with the expected type.
    """
    if expected == "str":
        return text
    if expected == "bool":
        low = text.strip().lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        return text
    try:
        if expected == "int":
            return int(text)
        if expected == "float":
            return float(text)
        if expected in ("list", "dict"):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return yaml.load(text, Loader=_TextDatesLoader)  # noqa: S506 - a SafeLoader subclass
        value = yaml.load(text, Loader=_TextDatesLoader)  # noqa: S506 - a SafeLoader subclass
        return text if value is None and text.strip() not in ("null", "~") else value
    except (ValueError, yaml.YAMLError):
        return text

