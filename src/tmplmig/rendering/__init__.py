"""Rendering: config, identifiers, SQL filters, templates to paired steps; no other layer."""
