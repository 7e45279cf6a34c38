"""Stops plain `yoyo apply` before it runs anything when an applied part's render changed
since it was applied (YAML or templates edited), naming the tmplmig commands that evolve it.

yoyo tracks migration ids only and would report nothing to do. This check sorts first and is
never marked applied, so it runs on every `yoyo apply` (and `yoyo list` shows it as U);
tmplmig's own verbs leave it out: `tmplmig apply` evolves what changed.
"""

from tmplmig.migrating.yoyo_bridge import check_renders

check_renders(__file__)
