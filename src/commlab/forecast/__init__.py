"""Early warning: forecast which young communities will die (work in progress: the panel command first)."""
