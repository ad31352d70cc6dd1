"""mkdocs hooks: the pages that list the public API, the metric registry and the data model are generated
from the package at build time, so they cannot fall behind it."""

from __future__ import annotations

#: Public names documented on the errors page rather than the API page.
_ERROR_ENDINGS = ("Error", "Warning", "Found", "Dependency", "Argument", "Type")


def _where(name: str) -> str:
    """The dotted path mkdocstrings reads ``commlab.<name>`` from (its defining module)."""
    import commlab

    module = commlab._API[name]
    if name in ("NotFittedError", "ConvergenceWarning"):  # defined on first use from commlab._sklearn_errors
        module = "commlab._sklearn_errors"
    return f"{module}.{name}"


def _names(errors: bool) -> list[str]:
    import commlab

    names = [n for n in commlab.__all__ if n != "__version__"]
    return [n for n in names if (n.endswith(_ERROR_ENDINGS) or n == "Problem") == errors]


def _namespace(name: str) -> str:
    """The section of a documented sub-namespace (``cl.nb``, ``cl.plots``): each name where it is defined."""
    import importlib

    import commlab

    space = importlib.import_module(commlab._NAMESPACES[name])
    head = (f"## `cl.{name}`\n\n{(space.__doc__ or '').split(chr(10) * 2)[0].strip()} "
            f"(`{space.__name__}.__all__`)\n\n")
    where = [f"{getattr(space, n).__module__}.{n}" for n in space.__all__ if callable(getattr(space, n))]
    return head + "".join(f"::: {w}\n    options:\n      heading_level: 3\n\n" for w in where)


def _api() -> str:
    import commlab

    head = ("# Public API\n\n`import commlab as cl` gives these names (`cl.__all__`), each imported on first use; "
            "the headings name the module that defines each. The report side of a notebook is in two "
            "sub-namespaces, [`cl.nb`](#clnb) and [`cl.plots`](#clplots), listed after them.\n\n")
    names = "".join(f"::: {_where(n)}\n\n" for n in _names(errors=False))
    return head + names + "".join(_namespace(n) for n in commlab._NAMESPACES)


def _errors() -> str:
    head = ("# Errors and warnings\n\nEvery error commlab raises on purpose derives from `CommlabError`; its "
            "`exit_code` is what the command line returns. All are `cl.` names.\n\n")
    return head + "".join(f"::: {_where(n)}\n\n" for n in _names(errors=True))


def _metrics() -> str:
    from commlab.analysis.metrics import metrics_markdown

    return metrics_markdown()


def _data_model() -> str:
    from commlab.data.schema import describe_tables

    return "# The data model\n\n" + describe_tables()


GENERATED = {"api.md": _api, "errors.md": _errors, "metrics.md": _metrics, "data-model.md": _data_model}


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace a generated page's placeholder with the text the package gives."""
    make = GENERATED.get(page.file.src_uri)
    return make() if make else markdown
