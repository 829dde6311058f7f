"""Running experiments: options and parsing, run folders, reporting, checkpoints, workers, CLI."""
