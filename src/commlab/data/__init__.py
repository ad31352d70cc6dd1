"""The data layer: schema, reading, validation and the sample generator.

Knows nothing of analysis, notebooks or papermill.
"""

from commlab.data.load import DEFAULT_TZ, Dataset, DataSummary, check_dataset, load_dataset

__all__ = ["DEFAULT_TZ", "DataSummary", "Dataset", "check_dataset", "load_dataset"]
