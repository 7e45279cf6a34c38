"""What the test modules share: servers and DSNs, bundles run with psql, YAML edits, tenant
files, logins and deployments. Fixtures live in conftest.py; no test module imports another."""
