"""What ``commlab panel`` and ``commlab forecast`` do, as functions (the command line only parses arguments)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.analysis.panel import community_panel
from commlab.atomic import atomic_write_text
from commlab.data.schema import Col
from commlab.errors import UsageError

__all__ = ["write_panel", "evaluate_files", "write_outcomes", "parse_horizons", "default_as_of"]

#: The as-of of a Stack Exchange 180-day layout: each site at its own creation + 180 days (the layout holds
#: exactly that window of every site, and the sites were created years apart).
SE_AS_OF = "created+180d"


def _load(data_dir: str | Path, source: str, tz: str, load_options: dict[str, Any] | None):  # noqa: ANN202
    from commlab.sources import load_source

    if not Path(data_dir).is_dir():
        raise UsageError(f"data folder not found: {data_dir}")
    return load_source(data_dir, source, tz=tz, **(load_options or {}))


def default_as_of(ds, source: str, tz: str) -> tuple[str, str]:  # noqa: ANN001 - a Dataset
    """The as-of a command uses when none is given, and how it was chosen (one line for the user).

    ``se_180d``: :data:`SE_AS_OF` (each site at its creation + 180 days). Otherwise the end of the data's last
    day in ``tz`` (midnight after the last event), as ``commlab run`` does without ``--as-of``.

    Raises
    ------
    UsageError
        When the data hold no event to take the end from (naming the option to pass).
    """
    if source == "se_180d":
        return SE_AS_OF, (f"as-of: {SE_AS_OF} (each site at its own creation + 180 days, the window the se_180d "
                          "layout holds; pass --as-of to change it)")
    ts = ds.events["ts"] if "ts" in ds.events.columns else None
    if ts is None or not len(ts) or ts.isna().all():
        raise UsageError("the data hold no event to take the end of the data from: pass --as-of, e.g. "
                         "--as-of 2024-06-30T16:00:00Z (UTC) or --as-of created+180d (each community's creation "
                         "+ 180 days)")
    local = ts.max().tz_convert(tz)
    end = (local.normalize() + pd.Timedelta(days=1)).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    return end, f"as-of: {end} (the end of the data's last day in {tz}; pass --as-of to change it)"


def parse_horizons(text: str) -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]``.

    Raises
    ------
    UsageError
        If an item is not a whole number from 1.
    """
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        if not item.isdigit() or int(item) < 1:
            raise UsageError(f"--at expects whole numbers from 1 separated by commas (e.g. 1,2,3,6), got {item!r}")
        out.append(int(item))
    if not out:
        raise UsageError("--at names no horizon")
    return out


def write_panel(data_dir: str | Path, out: str | Path, *, as_of: str | None = None, period: str = "month",
                source: str = "canonical", tz: str = "Asia/Shanghai", metrics: str | None = None,
                max_periods: int | None = None, dormant_days: int | None = 30,
                load_options: dict[str, Any] | None = None) -> str:
    """Compute :func:`commlab.analysis.panel.community_panel` of a data folder and write it as CSV.

    Without ``as_of``, :func:`default_as_of` (``created+180d`` for the Stack Exchange layout, else the end of
    the data's last day). ``load_options`` go to :func:`commlab.sources.load_source` (``cache``,
    ``stream``: :meth:`commlab.settings.Settings.load_options`).

    Returns
    -------
    str
        What was written, and where (and the as-of chosen, when none was given).

    Raises
    ------
    UsageError
        For a missing folder, an unknown metric id or a bad option.
    """
    ds = _load(data_dir, source, tz, load_options)
    chosen = ""
    if not as_of:
        as_of, chosen = default_as_of(ds, source, tz)
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
    done = (f"panel: {panel[Col.community_id].nunique()} communities, {len(panel)} rows (community × {period}), "
            f"{n_metrics} metrics -> {out}")
    return f"{chosen}\n{done}" if chosen else done


def evaluate_files(panel: str | Path, outcomes: str | Path, *, at: str = "1,2,3,6,8,12", model: str = "logit",
                   as_json: bool = False, died: list[str] | None = None, survived: list[str] | None = None,
                   repeats: int = 5, boot: int = 1000, seed: int = 0, shuffle: int | None = None) -> str:
    """Evaluate the forecaster on a panel file and an outcomes file; the table (Markdown) or JSON.

    With ``shuffle``, the outcomes are first permuted among the communities with that seed
    (:func:`commlab.forecast.early_warning.shuffled_outcomes`): the no-signal check, whose AUC should sit near
    0.5.
    """
    from commlab.forecast.evaluate import evaluate_forecaster
    from commlab.forecast.outcomes import read_outcomes, read_panel

    horizons = parse_horizons(at)
    if repeats < 1 or boot < 1:
        raise UsageError("--repeats and --boot must be at least 1")
    p = read_panel(panel)
    o = read_outcomes(outcomes, died=died, survived=survived)
    if shuffle is not None:
        from commlab.forecast.early_warning import shuffled_outcomes

        o = shuffled_outcomes(o, shuffle)
    ev = evaluate_forecaster(p, o, at=horizons, model=model, n_repeats=repeats, n_boot=boot, random_state=seed)
    if as_json:
        payload = ev.to_dict()
        payload["panel"] = {"file": str(panel), "communities": int(p[Col.community_id].nunique()),
                            "metrics": [c for c in p.columns if c not in (Col.community_id, "period", "p_start",
                                                                          "p_end")],
                            "ignored_columns": p.attrs.get("ignored", [])}
        payload["outcomes"] = {"file": str(outcomes), "communities": len(o), "died": int(o["outcome"].sum()),
                               "shuffled_with_seed": shuffle}
        return json.dumps(payload, ensure_ascii=False, indent=2)
    ignored = p.attrs.get("ignored", [])
    head = (f"{model} forecaster, {repeats}x repeated stratified CV over communities, {boot} bootstrap resamples; "
            f"panel {panel}: {p[Col.community_id].nunique()} communities; outcomes {outcomes}: {len(o)} "
            f"({int(o['outcome'].sum())} died)"
            + (f", SHUFFLED among the communities (seed {shuffle}): no signal to find" if shuffle is not None
               else ""))
    if ignored:
        head += f"; text columns left out: {', '.join(ignored)}"
    return head + "\n\n" + ev.to_markdown()


def write_outcomes(data_dir: str | Path, out: str | Path, *, source: str = "canonical", tz: str = "Asia/Shanghai",
                   as_of: str | None = None, from_column: str | None = None, died: list[str] | None = None,
                   window_days: int = 90, min_active: int = 3, load_options: dict[str, Any] | None = None) -> str:
    """Write ``outcomes.csv`` from a communities column or from the activity rule.

    ``load_options`` go to :func:`commlab.sources.load_source` (as :func:`write_panel`).
    """
    from commlab.forecast.outcomes import derive_outcomes, outcomes_from_column

    ds = _load(data_dir, source, tz, load_options)
    rule_note = ""
    if from_column:
        if not died:
            raise UsageError("--from-column needs --died VALUE (the value meaning died, e.g. closed)")
        o = outcomes_from_column(ds.communities, from_column, died=died)
        rule = f"column {from_column}: died = {', '.join(died)}"
    else:
        if not as_of:
            as_of, chosen = default_as_of(ds, source, tz)
            rule_note = chosen + "\n"
        try:
            o = derive_outcomes(ds, as_of=as_of, window_days=window_days, min_active=min_active)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        rule = o.attrs["rule"].text("en")
        for col in ("window_start", "window_end"):
            o[col] = o[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    frame = o.assign(outcome=o["outcome"].map({1: "died", 0: "survived"}))
    atomic_write_text(out, frame.to_csv(index=False, lineterminator="\n"))
    return f"{rule_note}outcomes: {len(o)} communities, {int(o['outcome'].sum())} died ({rule}) -> {out}"
