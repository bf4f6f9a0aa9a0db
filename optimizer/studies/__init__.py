"""Studies over many solves: sweeps (local processes or Dask), the frontier, the interactive session."""
