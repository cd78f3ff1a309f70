"""Live model monitoring: input and score drift against the card's training reference, and
quality (ROC AUC, Brier score, calibration) from outcomes callers report (docs/monitoring.md)."""
