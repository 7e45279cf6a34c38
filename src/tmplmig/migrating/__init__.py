"""Migrating: target, yoyo bridge, one function per verb, tenants, fan-out; on every layer below."""
