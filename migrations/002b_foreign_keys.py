"""Renders templates/002b_foreign_keys.sql.j2 for the environment the caller chooses.

tmplmig passes its own choice; plain `yoyo apply` reads $TMPLMIG_ENV (and $TMPLMIG_TENANT).
"""

from tmplmig.migrating.yoyo_bridge import load_part

__depends__, __transactional__ = load_part(__file__)
