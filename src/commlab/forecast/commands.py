"""What ``commlab panel`` does, as functions (the command line only parses arguments)."""

from __future__ import annotations

from pathlib import Path

from commlab.analysis.panel import community_panel
from commlab.atomic import atomic_write_text
from commlab.errors import UsageError

__all__ = ["write_panel"]


def _load(data_dir: str | Path, source: str, tz: str):  # noqa: ANN202 - a Dataset
    from commlab.sources import load_source

    if not Path(data_dir).is_dir():
        raise UsageError(f"data folder not found: {data_dir}")
    return load_source(data_dir, source, tz=tz)


def write_panel(data_dir: str | Path, out: str | Path, *, as_of: str, period: str = "month",
                source: str = "canonical", tz: str = "Asia/Shanghai", metrics: str | None = None,
                max_periods: int | None = None, dormant_days: int | None = 30) -> str:
    """Compute :func:`commlab.analysis.panel.community_panel` of a data folder and write it as CSV.

    Returns
    -------
    str
        One line: what was written, and where.

    Raises
    ------
    UsageError
        For a missing folder, an unknown metric id or a bad option.
    """
    ds = _load(data_dir, source, tz)
    ids = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    try:
        panel = community_panel(ds, as_of=as_of, period=period, metrics=ids, max_periods=max_periods,
                                dormant_days=dormant_days or None)
    except KeyError as exc:
        raise UsageError(str(exc.args[0]) if exc.args else str(exc)) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    frame = panel.copy()
    for col in ("p_start", "p_end"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    atomic_write_text(out, frame.to_csv(index=False, lineterminator="\n"))
    n_metrics = len(panel.columns) - 4
    return (f"panel: {panel['community_id'].nunique()} communities, {len(panel)} rows (community × {period}), "
            f"{n_metrics} metrics -> {out}")
