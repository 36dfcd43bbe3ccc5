"""Fixed-window request counters kept in the database, shared by every process."""
