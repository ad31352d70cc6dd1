"""Fit the reply model on the IRC disentanglement corpus and write ``src/commlab/replies/reply_model.json``.

Usage::

    .venv/bin/python scripts/train_reply_model.py [CORPUS_DIR] [--seed 20240601] [--out PATH] [--cv-only]

``CORPUS_DIR`` (default ``../shared/data/irc_disentanglement``) holds ``train/`` and/or ``dev/``
folders of ``X.raw.txt[.gz]`` / ``X.annotation.txt[.gz]`` pairs (Kummerfeld et al. 2019). The model
is fitted on ``train/`` when it exists, and scored on ``dev/``. When only ``dev/`` is there (as in
the kit's shared data), it is fitted on ``dev/`` and scored by **leave-one-file-out
cross-validation**: each file is scored by a model fitted on the other files, so no file is scored
by a model that saw it. The table printed (the kit with and without its explicit signals, and the
paper's two rules, same scoring) is recorded in the artefact's ``meta``.

Deterministic given ``--seed`` (lbfgs on rows shuffled by the seed). About 1-3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sklearn

from commlab.replies.corpus import find_pairs
from commlab.replies.features import WINDOW
from commlab.replies.model import MODEL_FILE, ReplyModel
from commlab.replies.train import C, cross_validate, fit_model, load_logs, score_logs


def main(argv: list[str] | None = None) -> int:
    """Fit, score and write the artefact (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", nargs="?", default="../shared/data/irc_disentanglement")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--out", default=str(MODEL_FILE))
    ap.add_argument("--cv-only", action="store_true", help="print the scores, write nothing")
    args = ap.parse_args(argv)
    root = Path(args.corpus)
    t0 = time.perf_counter()
    has_train = (root / "train").is_dir()
    logs = load_logs(find_pairs(root / "train" if has_train else root / "dev"))
    print(f"read {len(logs)} files in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if has_train:
        final = fit_model(logs, seed=args.seed)
        scored_on, held = "dev (model fitted on train)", load_logs(find_pairs(root / "dev"))
        rows = {"kit": score_logs(held, model=final),
                "kit_model_only": score_logs(held, model=final, signals=False)}
        per: dict[str, float] = {}
    else:
        scored_on, held = "dev, leave-one-file-out cross-validation (model fitted on the other 9 files)", logs
        rows = {}
        rows["kit"], per = cross_validate(logs, seed=args.seed)
        rows["kit_model_only"], _ = cross_validate(logs, seed=args.seed, signals=False)
    rows["previous"] = score_logs(held, method="previous")
    rows["name"] = score_logs(held, method="name")
    print(f"scored on {scored_on}:")
    for name, s in rows.items():
        print(f"  {name:15s} {s}")
    if per:
        print("  kit F1 per held-out file:", per)
    if args.cv_only:
        return 0
    if not has_train:
        final = fit_model(logs, seed=args.seed)
    final = ReplyModel(final.coef, final.intercept, final.signal_precision, {
        "fitted_on": f"irc_disentanglement/{'train' if has_train else 'dev'} ({len(logs)} files, "
                     f"{sum(len(log.rows) for log in logs)} annotated messages)",
        "corpus": "Kummerfeld et al. 2019, github.com/jkkummerfeld/irc-disentanglement (CC BY 4.0)",
        "seed": args.seed, "C": C, "window": WINDOW, "sklearn": sklearn.__version__,
        "command": "python scripts/train_reply_model.py" + "".join(f" {a}" for a in (argv or sys.argv[1:])),
        "scored_on": scored_on,
        "scores": {k: v.as_dict() for k, v in rows.items()},
        "f1_per_held_out_file": per,
    })
    path = final.save(args.out)
    print(f"wrote {path} ({path.stat().st_size} bytes); in-sample kit (not a test score): "
          f"{score_logs(logs, model=final)}")
    print(repr(final))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
