"""What ``cloudlease --version`` prints: the core's version, then each installed store's."""

from __future__ import annotations

from importlib import metadata

import cloudlease


def versions() -> str:
    """One line per distribution: ``NAME VERSION``, providers with the URL schemes they add."""
    schemes: dict[tuple[str, str], list[str]] = {}
    for entry in metadata.entry_points(group="cloudlease.stores"):
        if entry.dist is None:
            continue
        name = entry.dist.metadata["Name"]
        if name != "cloudlease":
            schemes.setdefault((name, entry.dist.version), []).append(f"{entry.name}://")
    lines = [f"cloudlease {cloudlease.__version__}"]
    for (name, version), found in sorted(schemes.items()):
        lines.append(f"{name} {version} ({', '.join(sorted(found))})")
    return "\n".join(lines)
