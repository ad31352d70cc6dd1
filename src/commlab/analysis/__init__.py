"""Pure analysis functions and estimators over validated tables."""
