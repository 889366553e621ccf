"""Retention: patient data kept only as long as each clinic's settings say (a nightly purge)."""
