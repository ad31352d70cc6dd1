"""commlab: a research and playbook kit for community operations (社群运营).

The package is layered; imports run one way only::

    cli -> runner / report -> playbook / rules -> analysis -> data

See the README for the quick start and ``commlab --help`` for the command line.
"""

from __future__ import annotations

from commlab.data.load import Dataset, load_dataset
from commlab.errors import CommlabError, DataValidationError

__version__ = "0.1.0"

__all__ = ["__version__", "Dataset", "load_dataset", "CommlabError", "DataValidationError"]
