"""Read Terraform files with python-hcl2 into plain Python values (no provider needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from tests.emulators import ROOT

TERRAFORM = ROOT / "terraform"
#: Reusable modules (resources named ``this``, a ``create`` flag) and their provider.
MODULES = {
    "dynamodb": "aws",
    "firestore": "google",
    "azure_blob": "azurerm",
    "s3": "aws",
    "gcs": "google",
}
#: Examples (root modules) and their provider.
EXAMPLES = {
    "examples/lambda_scheduled": "aws",
    "examples/cloud_run_job": "google",
    "examples/azure_function": "azurerm",
}
LAYOUT = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
_META = {"__is_block__", "__comments__", "__inline_comments__", "__start_line__", "__end_line__"}


def _plain(value: Any) -> Any:
    """python-hcl2 keeps the quotes of strings and block labels; drop them and its metadata."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if k not in _META}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            unquoted = json.loads(value)
        except json.JSONDecodeError:  # a template with quoted parts: "${f(x, "-")}/y"
            return value[1:-1]
        return unquoted if isinstance(unquoted, str) else value
    return value


def load(path: Path) -> dict[str, Any]:
    """One .tf file as plain dicts and lists."""
    with path.open() as handle:
        parsed: dict[str, Any] = _plain(hcl2.load(handle))
    return parsed


@dataclass(frozen=True)
class Module:
    """Every block of one directory's .tf files, merged."""

    path: Path
    blocks: dict[str, list[Any]]

    @classmethod
    def read(cls, relative: str) -> Module:
        path = TERRAFORM / relative
        blocks: dict[str, list[Any]] = {}
        for tf in sorted(path.glob("*.tf")):
            for kind, items in load(tf).items():
                blocks.setdefault(kind, []).extend(items)
        return cls(path, blocks)

    def _named(self, kind: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for item in self.blocks.get(kind, []):
            merged.update(item)
        return merged

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return self._named("variable")

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return self._named("output")

    @property
    def modules(self) -> dict[str, dict[str, Any]]:
        return self._named("module")

    @property
    def locals(self) -> dict[str, Any]:
        return self._named("locals")

    @property
    def resources(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{type: {name: body}}``."""
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for item in self.blocks.get("resource", []):
            for kind, named in item.items():
                found.setdefault(kind, {}).update(named)
        return found

    def resource(self, kind: str) -> dict[str, Any]:
        """The body of resource ``kind.this``."""
        body: dict[str, Any] = self.resources[kind]["this"]
        return body

    @property
    def providers(self) -> set[str]:
        """Providers named in ``required_providers``."""
        names: set[str] = set()
        for block in self.blocks.get("terraform", []):
            for required in block.get("required_providers", []):
                names.update(required)
        return names
