"""Where the harvested data lives: datasets, writers, fill counts, per-source state."""
