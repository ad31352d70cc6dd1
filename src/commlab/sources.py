"""Where a notebook's data come from: the canonical layout or a known export layout.

Notebooks take ``source`` ("canonical" or "se_180d") and ``data_dir``; :func:`load_source`
picks the reader, so notebooks hold no branching of their own. :func:`attribution` gives the
line a report must show for the data (e.g. "Stack Exchange (content by its users, CC BY-SA)" with the
sites' names).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from commlab.data.cache import cache_dir, layout_key, read_cached, write_cached
from commlab.data.io import data_files, sha256_file
from commlab.data.load import DEFAULT_TZ, Dataset, load_dataset
from commlab.errors import UsageError

__all__ = ["SOURCES", "load_source", "attribution"]

#: Accepted values of the notebooks' ``source`` parameter.
SOURCES: tuple[str, ...] = ("canonical", "se_180d")


def load_source(data_dir: str | Path, source: str = "canonical", *, tz: str = DEFAULT_TZ,
                communities: list[str] | None = None, cache: str | Path | None = None,
                stream: bool | None = None) -> Dataset:
    """Load ``data_dir`` with the reader of ``source``.

    Parameters
    ----------
    data_dir : str or Path
        The canonical data folder, or the root holding the twelve Stack Exchange site folders.
    source : {"canonical", "se_180d"}
        Layout of ``data_dir``.
    tz : str
        Zone of naive times (canonical layout; the Stack Exchange times are UTC).
    communities : list of str, optional
        Keep only these community ids.
    cache : str or Path, optional
        Folder of validated data sets (:mod:`commlab.data.cache`): a converted layout is stored
        there once and read back by the later loads of a run; see :func:`load_dataset`.
    stream : bool, optional
        Canonical layout: validate the events chunk by chunk; see :func:`load_dataset`.

    Raises
    ------
    UsageError
        For an unknown ``source``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_source("data/samples", "canonical", communities=["c01"])
    >>> ds.communities["name"].tolist()
    ['咖啡爱好者交流群']
    """
    if source == "canonical":
        return load_dataset(data_dir, tz=tz, communities=communities or None, cache=cache, stream=stream)
    if source == "se_180d":
        from commlab.importers.se_csv import read_se_180d_all

        # as load_dataset: within a run, the first notebook converts and stores, the later ones read back
        folder, key = cache_dir(cache), None
        if folder is not None and Path(data_dir).is_dir():
            root = Path(data_dir)
            key = layout_key(source, {f.relative_to(root).as_posix(): sha256_file(f) for f in data_files(root)})
            hit = read_cached(folder, key)
            if hit is not None:
                return hit.subset(communities or None)
        ds = read_se_180d_all(data_dir)
        if key is not None:
            write_cached(folder, key, ds)
        return ds.subset(communities or None)
    raise UsageError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")


def attribution(ds: Dataset, lang: str = "en") -> str:
    """The data-source line for a report, from the communities' ``source`` and ``name`` columns.

    Stack Exchange data are summarised as "Stack Exchange (content by its users, CC BY-SA)" followed by
    the sites' names.
    """
    c = ds.communities
    src = c["source"] if "source" in c.columns else pd.Series(dtype="string")
    se = src.fillna("").astype(str).str.contains("Stack Exchange")
    parts = []
    if se.any():
        names = ", ".join(c.loc[se, "name"].astype(str))
        head = "数据来源：Stack Exchange，CC BY-SA（用户贡献内容）；站点：" if lang == "zh" else (
            "Data: Stack Exchange (content by its users, CC BY-SA); sites: ")
        # the 180-day CSVs come through Vranić et al.; a dump imported directly does not
        via = src[se].astype(str).str.contains("Vrani").any()
        parts.append(head + names + (" — via Vranić et al. 2023, EPJ Data Science 12:4" if via else ""))
    others = sorted(set(src[~se].dropna().astype(str)) - {""})
    if others:
        parts.append(("数据来源：" if lang == "zh" else "Data: ") + "; ".join(others))
    return "\n\n".join(parts)
