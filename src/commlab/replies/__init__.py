"""Reply inference for chat logs: who answered whom when the export does not say.

* :func:`infer_replies` / :func:`drop_inferred` — fill in (and undo) reply links in an events table;
* :class:`ReplyModel` — the fitted model (JSON coefficients shipped in ``reply_model.json``);
* :func:`score_links`, :class:`LinkScore` — link precision / recall / F1 as in Kummerfeld et al. (2019);
* :mod:`commlab.replies.evaluate` — the kit against the paper's simple rules on annotated IRC logs
  (``commlab replies score RAW ANNOTATION``).

Layering: this package uses only :mod:`commlab.data` and :mod:`commlab.errors`; importers and
analysis may use it.
"""

from __future__ import annotations

from commlab.replies.corpus import LinkScore, read_annotation, score_links
from commlab.replies.infer import INFERRED, REPLY_COLUMNS, drop_inferred, infer_replies
from commlab.replies.model import ReplyModel, default_model

__all__ = ["infer_replies", "drop_inferred", "INFERRED", "REPLY_COLUMNS", "ReplyModel", "default_model",
           "LinkScore", "score_links", "read_annotation"]
