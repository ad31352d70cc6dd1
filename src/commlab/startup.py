"""What a process commlab starts does first: skip an optional grammar that costs a second at every start.

nbformat (which papermill, the report and the runner import) imports jsonschema, whose format checkers import
the optional package ``rfc3987_syntax`` when it is installed (JupyterLab's dependencies install it). That package
builds an Earley parser for the IRI grammar as it is imported: 0.9 s of CPU in every process that imports
nbformat, each step's process of a playbook run included, and no notebook schema checks an IRI format.

:func:`skip_iri_grammar` makes the import fail, as if the package were not installed: jsonschema then leaves the
``iri`` and ``iri-reference`` formats unchecked, as it does without it. Only the processes commlab owns call
it (the ``commlab`` command, each step's process, the test suite), before anything imports jsonschema; a user's
``import commlab`` never does.
"""

from __future__ import annotations

import sys

__all__ = ["skip_iri_grammar"]


def skip_iri_grammar() -> bool:
    """Make ``import rfc3987_syntax`` fail in this process, unless jsonschema is imported already.

    Returns
    -------
    bool
        Whether the grammar is now skipped (``False`` once jsonschema, or the package, was imported: a process
        that checks IRIs keeps doing so).
    """
    if "jsonschema" in sys.modules or sys.modules.get("rfc3987_syntax", None) is not None:
        return False
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # the import system's "not installed"
    return True
