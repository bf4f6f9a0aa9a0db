"""The grid: planning units built from layers (exact coverage-weighted aggregation), stored and read back."""
