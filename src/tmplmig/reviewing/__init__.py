"""Reviewing: the psql bundle, its lint, verify of a live database; on database and rendering."""
