"""Domain services. They take a session and never commit: the boundary that called them does."""
