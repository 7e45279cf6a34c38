"""Lint findings where reviewers look: plain text, JSON, SARIF 2.1.0 (code scanning) and
GitHub workflow annotations, each naming the bundle file and line and the template and step
the SQL came from."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import version
from typing import Any

from tmplmig.reviewing.lint import RULES, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: per target (``ENV`` or ``ENV:TENANT``), the findings of its bundle
Findings = Mapping[str, Sequence[Finding]]


def bundle_path(root: str, target: str, file: str) -> str:
    """Where a target's bundle file lives in the repository: ``root/ENV[/TENANT]/FILE``."""
    return "/".join([root.rstrip("/"), *target.split(":"), file])


def text(findings: Findings, root: str) -> str:
    lines = [f"{target}/{f}" for target, found in findings.items() for f in found]
    total = len(lines)
    lines.append(f"{total} finding(s)" if total else f"clean: {', '.join(findings)}")
    return "\n".join(lines) + "\n"


def as_json(findings: Findings, root: str) -> str:
    rows = [
        {
            "target": target,
            "path": bundle_path(root, target, f.file),
            "line": f.line,
            "tool": f.tool,
            "rule": f.rule,
            "message": f.message,
            "template": f.template,
            "step": f.step,
        }
        for target, found in findings.items()
        for f in found
    ]
    return json.dumps(rows, indent=2) + "\n"


def _rule(tool: str, rule: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": rule}
    if tool == "tmplmig":
        entry["shortDescription"] = {"text": RULES[rule]}
    else:
        entry["shortDescription"] = {"text": f"squawk rule {rule}"}
        entry["helpUri"] = f"https://squawkhq.com/docs/{rule}"
    return entry


def sarif(findings: Findings, root: str) -> str:
    """One SARIF 2.1.0 log with a run per tool (tmplmig's own rules, squawk's)."""
    runs = []
    for tool in ("tmplmig", "squawk"):
        mine = [(t, f) for t, found in findings.items() for f in found if f.tool == tool]
        rule_ids = sorted(set(RULES) if tool == "tmplmig" else {f.rule for _, f in mine})
        driver: dict[str, Any] = {"name": tool, "rules": [_rule(tool, r) for r in rule_ids]}
        if tool == "tmplmig":
            driver["version"] = version("tmplmig")
        else:
            driver["informationUri"] = "https://squawkhq.com"
        results = [
            {
                "ruleId": f.rule,
                "ruleIndex": rule_ids.index(f.rule),
                "level": "error" if f.rule == "parse-error" else "warning",
                "message": {"text": f"{f.message} (template {f.template}, step {f.step})"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": bundle_path(root, target, f.file)},
                            "region": {"startLine": f.line},
                        },
                        "logicalLocations": [
                            {"name": f.step, "fullyQualifiedName": f"{f.template}#{f.step}"}
                        ],
                    }
                ],
                "properties": {"target": target, "template": f.template, "step": f.step},
            }
            for target, f in mine
        ]
        runs.append({"tool": {"driver": driver}, "results": results})
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}, indent=2) + "\n"


def _escape(value: str, *, property_: bool = False) -> str:
    """GitHub's workflow-command escaping (properties also escape ``:`` and ``,``)."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if property_ else value


def github(findings: Findings, root: str) -> str:
    """``::warning file=…,line=…,title=…::message`` lines for a GitHub Actions log."""
    lines = []
    for target, found in findings.items():
        for f in found:
            level = "error" if f.rule == "parse-error" else "warning"
            props = ",".join(
                [
                    f"file={_escape(bundle_path(root, target, f.file), property_=True)}",
                    f"line={f.line}",
                    f"title={_escape(f'{f.tool} {f.rule}', property_=True)}",
                ]
            )
            message = _escape(f"{f.message} (template {f.template}, step {f.step})")
            lines.append(f"::{level} {props}::{message}")
    return "".join(line + "\n" for line in lines)


FORMATS: dict[str, Callable[[Findings, str], str]] = {
    "text": text,
    "json": as_json,
    "sarif": sarif,
    "github": github,
}
