"""Rendered from templates/001_baseline.sql.j2 for the environment in TMPLMIG_ENV."""

from tmplmig.migrating.yoyo_bridge import load_part

__depends__, __transactional__ = load_part(__file__)
