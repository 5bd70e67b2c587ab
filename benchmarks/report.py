"""Render a results JSON (``benchmarks/results/*.json``) as docs/performance.md.

    .venv/bin/python -m benchmarks.report benchmarks/results/latest-full.json > docs/performance.md

The prose (what each figure means, how it was measured, the readings) lives in
docs/templates/performance.md; this module renders the tables and fills the template's
``{{name}}`` slots. The verdicts against the goals (overhead <= 1.10, core import < 30 ms,
provider within 10 ms of its SDK) are computed from the figures, so a re-run keeps the doc
honest.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from benchmarks._common import OPS

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "docs" / "templates" / "performance.md"

STORE_NAMES = {
    "memory": "memory",
    "sqlite": "SQLite",
    "dynamodb": "DynamoDB (moto)",
    "firestore": "Firestore (emulator)",
    "azure": "Azure Blob (Azurite)",
    "s3": "S3 (moto)",
    "gcs": "Cloud Storage (fake-gcs-server)",
}
OP_NAMES = {
    "acquire": "acquire (free)",
    "refused": "acquire (held elsewhere)",
    "renew": "renew",
    "release": "release",
    "get": "get",
}


KIND_ORDER = list(STORE_NAMES)
PEER_ORDER = ["python-dynamodb-lock", "azure-plain"]


def ordered(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """Items of ``data`` in the doc's order: by store ("kind" or "kind/variant"), then variant."""

    def key(item: tuple[str, Any]) -> tuple[int, Any]:
        kind, _, variant = item[0].partition("/")
        order = KIND_ORDER if kind in KIND_ORDER else PEER_ORDER
        rank = order.index(kind) if kind in order else len(order)
        return rank, (int(variant) if variant.isdigit() else variant != "plain")

    return sorted(data.items(), key=key)


def _f(value: Any, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"


def _requests(by_op: dict[str, int]) -> str:
    total = sum(by_op.values())
    detail = ", ".join(f"{op} {n}" for op, n in by_op.items())
    return f"{total} ({detail})" if detail else str(total)


def _failed(data: Any) -> str | None:
    if data is None:
        return "_not run_"
    if isinstance(data, dict) and "error" in data:
        return f"_failed: {data['error']}_"
    return None


def requests_table(ops: dict[str, Any]) -> str:
    lines = [
        "| store | acquire (free) | acquire (held elsewhere) | renew | release | get "
        "| acquire (first use) | acquire (re-entry) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, data in ordered(ops):
        if "requests" not in data:
            continue
        r, minimum = data["requests"], data["minimum"]

        cells = []
        for label in ("acquire", "refused", "renew", "release", "get"):
            have = sum(r[label].values())
            mark = "" if have <= minimum[label] else f" **min {minimum[label]}**"
            cells.append(_requests(r[label]) + mark)
        lines.append(
            f"| {STORE_NAMES[kind]} | {' | '.join(cells)} "
            f"| {_requests(r['acquire (first use)'])} | {_requests(r['acquire (re-entry)'])} |"
        )
    lines += [
        "",
        "Physical minimum per store (requests: acquire / held / renew / release / get):",
        "",
    ]
    for kind, data in ordered(ops):
        if "minimum" in data:
            m = data["minimum"]
            counts = " / ".join(
                str(m[op]) for op in ("acquire", "refused", "renew", "release", "get")
            )
            lines.append(f"- {STORE_NAMES[kind]}: {counts} — {m['why']}.")
    return "\n".join(lines)


def _duration(ms: float) -> str:
    """A latency in the unit that shows it: µs below a millisecond, else ms."""
    return f"{ms * 1000:.1f} µs" if ms < 1 else f"{ms:.2f} ms"


#: The goal on the median ratio ours / raw, per store (the network stores: 1.10).
RATIO_GOALS = {"memory": 3.0, "sqlite": 1.5}


def overhead_table(ops: dict[str, Any], rerun: dict[str, tuple[Any, str]] | None = None) -> str:
    """The A/B table; a store measured again in ``rerun`` (store -> (a later operations
    section's figures, why), e.g. "after the fix, below") carries the rerun's median ratio and
    verdict beside this run's."""
    lines = [
        "| store | operation | requests (ours / raw) | ours median | raw median "
        "| ratio median | ratio q1-q3 | ratio p10-p90 | goal (ratio) |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for kind, data in ordered(ops):
        if "latency" not in data:
            continue
        for op in OPS:
            row = data["latency"][op]
            ours_requests = sum(data["requests"]["acquire" if op == "acquire" else op].values())
            raw_requests = data["raw_requests"].get(op, "?")
            ratio = row["ratio"]
            goal = RATIO_GOALS.get(kind, 1.10)
            verdict = f"≤ {goal:.2f}: " + ("met" if ratio["median"] <= goal else "**missed**")
            figures, why = (rerun or {}).get(kind, (None, ""))
            again = (figures or {}).get("latency", {}).get(op)
            if again is not None:
                later = again["ratio"]["median"]
                verdict += f" ({_f(later)} {why}: {'met' if later <= goal else '**missed**'})"
            lines.append(
                f"| {STORE_NAMES[kind]} | {OP_NAMES[op]} | {ours_requests} / {raw_requests} "
                f"| {_duration(row['ours_ms']['median'])} | {_duration(row['raw_ms']['median'])} "
                f"| {_f(ratio['median'])} | {_f(ratio['q1'])} to {_f(ratio['q3'])} "
                f"| {_f(ratio['p10'])} to {_f(ratio['p90'])} | {verdict} |"
            )
    return "\n".join(lines)


def failover_table(data: dict[str, Any], label: dict[str, str] | None = None) -> str:
    lines = [
        "| store | ttl s | takeover allowance s | stop | trials | time to new holder p50 s | p90 s "
        "| lease time left at the kill p50 s (theoretical minimum) | over the minimum p50 s |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, row in ordered(data):
        if "kill" not in row:
            lines.append(f"| {kind} | {_failed(row)} | | | | | | | |")
            continue
        name = (label or STORE_NAMES).get(kind, kind)
        for stop in ("kill", "graceful"):
            r = row[stop]
            if not r["took"].get("n"):
                continue
            minimum = _f(r["left"]["median"]) if stop == "kill" else "0 (release)"
            lines.append(
                f"| {name} | {row['ttl']:g} "
                f"| {row.get('takeover_allowance', row.get('skew_allowance', 0.0)):g} "
                f"| {'SIGKILL' if stop == 'kill' else 'graceful (release)'} | {r['took']['n']} "
                f"| {_f(r['took']['median'])} | {_f(r['took']['p90'])} | {minimum} "
                f"| {_f(r['over_minimum']['median'])} |"
            )
    return "\n".join(lines)


def takeover_table(data: dict[str, Any]) -> str:
    """After a crash: from the holder's last renewal to the next grant, over the ttl, with the
    store's default takeover allowance and with 0."""
    lines = [
        "| store | ttl s | takeover allowance s | trials | last renewal to next grant p50 s "
        "| over ttl p50 | over ttl p10-p90 | after the kill p50 s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for kind, row in ordered(data):
        if "default" not in row:
            lines.append(f"| {STORE_NAMES.get(kind, kind)} | {_failed(row)} | | | | | | |")
            continue
        for label in ("default", "zero"):
            r = row[label]
            kill, ttl = r["kill"], r["ttl"]
            ratio = kill["since_renewal_over_ttl"]
            if not ratio.get("n"):
                continue
            allowance = f"{r['takeover_allowance']:g}" + (
                " (default)" if label == "default" else ""
            )
            lines.append(
                f"| {STORE_NAMES.get(kind, kind)} | {ttl:g} | {allowance} | {ratio['n']} "
                f"| {_f(ratio['median'] * ttl)} | {_f(ratio['median'])} "
                f"| {_f(ratio['p10'])} to {_f(ratio['p90'])} | {_f(kill['took']['median'])} |"
            )
    return "\n".join(lines)


def import_tables(data: dict[str, Any]) -> str:
    lines = [
        f"Median of {data['runs']} fresh interpreters (`python -X importtime`, start-up excluded).",
        "",
        "| import | median ms | min ms | max ms | CPU ms (median) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, s in data["core"].items():
        if s.get("n"):
            cpu = data.get("core_cpu", {}).get(label, {}).get("median")
            lines.append(
                f"| `{label}` | {_f(s['median'], 1)} | {_f(s['min'], 1)} | {_f(s['max'], 1)} "
                f"| {_f(cpu, 1) if cpu is not None else ''} |"
            )
    core = data["core"].get("import cloudlease", {}).get("median")
    full = data["core"].get("from cloudlease import hold, open_store", {}).get("median")

    def verdict(value: float | None, goal: float) -> str:
        return "met" if value is not None and value <= goal else "**missed**"

    lines += [
        "",
        f"Goals: `import cloudlease` at most 20 ms: {_f(core, 1)} ms ({verdict(core, 20)}); "
        f"`from cloudlease import hold, open_store` at most 25 ms: {_f(full, 1)} ms "
        f"({verdict(full, 25)}).",
        "",
        "| provider | provider import (SDK included) ms | SDK alone ms | provider - SDK ms "
        "| added to a loaded SDK ms (core included) [q1-q3] | added, CPU ms "
        "| goal ≤ SDK + 5 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for store, p in ordered(data["providers"]):
        if not p["added_ms"].get("n"):
            lines.append(f"| {STORE_NAMES[store]} | not installed | | | | | |")
            continue
        added = p["added_ms"]["median"]
        mine, alone = p["provider_ms"]["median"], p["sdk_ms"]["median"]
        lines.append(
            f"| `{p['provider']}` | {_f(mine, 1)} | {_f(alone, 1)} (`{p['sdk']}`) "
            f"| {mine - alone:+.1f} | {_f(added, 1)} "
            f"[{_f(p['added_ms']['q1'], 1)} to {_f(p['added_ms']['q3'], 1)}] "
            f"| {_f(p.get('added_cpu_ms', {}).get('median'), 1)} | {verdict(added, 5)} |"
        )
    bare = data["bare"]["median"]
    lines += [
        "",
        "| whole interpreter run | median ms | over `python -c pass` |",
        "| --- | ---: | ---: |",
        f"| `python -c pass` | {_f(bare, 1)} | |",
    ]
    for statement, s in data["whole"].items():
        lines.append(
            f"| `python -c '{statement}'` | {_f(s['median'], 1)} | +{_f(s['median'] - bare, 1)} |"
        )
    return "\n".join(lines)


def contention_table(data: dict[str, Any]) -> str:
    lines = [
        "| store | contenders | seconds | ttl s | acquisitions | store requests | requests/s (all) "
        "| requests/s per idle contender | StoreUnavailable seen |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, row in ordered(data):
        kind, _ = key.split("/")
        lines.append(
            f"| {STORE_NAMES[kind]} | {row['contenders']} | {row['elapsed']:g} | {row['ttl']:g} "
            f"| {row['acquisitions']} | {row['requests']} | {_f(row['requests_per_s'], 1)} "
            f"| {_f(row['idle_rps_per_contender'])} | {row['unavailable_errors']} |"
        )
    return "\n".join(lines)


def peer_contention_table(peer: str, data: dict[str, Any]) -> str:
    lines = [
        "| peer | contenders | seconds | acquisitions | store requests | requests/s (all) "
        "| requests/s per idle contender |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, row in sorted(data.items(), key=lambda item: int(item[0])):
        lines.append(
            f"| {peer} | {n} | {row['elapsed']:g} | {row['acquisitions']} | {row['requests']} "
            f"| {_f(row['requests_per_s'], 1)} | {_f(row['idle_rps_per_contender'])} |"
        )
    return "\n".join(lines)


def peers_tables(data: dict[str, Any]) -> str:
    out = []
    titles = {
        "python-dynamodb-lock": "python-dynamodb-lock 0.9.1 vs DynamoDBStore, same moto server",
        "azure-plain": "plain `BlobLeaseClient` pattern vs AzureBlobStore, same Azurite",
    }
    for peer, row in ordered(data):
        if "requests" not in row:
            out.append(f"{peer}: {_failed(row)}")
            continue
        out += [f"**{titles.get(peer, peer)}** (requests counted at the transport):", ""]
        out += ["| operation | peer requests | cloudlease requests |", "| --- | --- | --- |"]
        for op, by_op in row["requests"]["peer"].items():
            ours = row["requests"]["ours"].get(op, {})
            out.append(f"| {op} | {_requests(by_op)} | {_requests(ours)} |")
        out += [
            "",
            f"Latency, {row['rounds']} rounds, pairs back to back in random order:",
            "",
            "| operation | cloudlease median ms | peer median ms | peer / cloudlease median "
            "| q1-q3 |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for op, lat in row["latency"].items():
            r = lat["peer_over_ours"]
            out.append(
                f"| {op} | {_f(lat['ours_ms']['median'], 3)} | {_f(lat['peer_ms']['median'], 3)} "
                f"| {_f(r['median'])} | {_f(r['q1'])} to {_f(r['q3'])} |"
            )
        if "failover" in row:
            out += ["", "Failover of the peer (same harness as section 3):", ""]
            out.append(failover_table({peer: row["failover"]}, {peer: peer}))
        if "contention" in row:
            out += ["", "Contention, the peer in the loop of section 5:", ""]
            out.append(peer_contention_table(peer, row["contention"]))
        out.append("")
    return "\n".join(out)


def serverless_table(data: dict[str, Any]) -> str:
    lines = [
        "| store | mode | requests / invocation | by request | guarded call median µs "
        "| unguarded median µs | added µs |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for key, row in ordered(data):
        kind, mode = key.split("/")
        by_op = ", ".join(f"{op} {n:g}" for op, n in row["requests_by_op"].items())
        added = row["guarded_us"]["median"] - row["unguarded_us"]["median"]
        lines.append(
            f"| {STORE_NAMES[kind]} | {mode} | {row['requests_per_call']:.2f} | {by_op} "
            f"| {_f(row['guarded_us']['median'], 0)} | {_f(row['unguarded_us']['median'], 2)} "
            f"| {_f(added, 0)} |"
        )
    return "\n".join(lines)


def many_leases_table(data: dict[str, Any]) -> str:
    """Section 8: leases held in one process, per store, and the run that measured them."""
    header = ["store", "leases", "ttl", "held", "threads (max)", "RSS growth", "renewals"]
    header += ["late", "lateness p50 / p99 / max", "CPU"]
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    for kind, row in data["stores"].items():
        late = row["lateness_ms"]
        cells = (
            STORE_NAMES.get(kind, kind),
            f"{row['leases']:,}",
            f"{row['ttl_s']:g} s",
            f"{row['held_s']:g} s",
            str(row["threads_max"]),
            f"{row['rss_growth_mb']:g} MB",
            f"{row['renewals']:,}",
            f"{row['late']} ({row['stepped_down']} stepped down)",
            f"{late['p50']:g} / {late['p99']:g} / {late['max']:g} ms",
            f"{row['cpu_s']:g} s",
        )
        lines.append("| " + " | ".join(cells) + " |")
    m = data["machine"]
    lines += [
        "",
        f"- Command: `{data['command']}`, started {data['started']}, on {m['cpus']} cores "
        f"({m['cpu']}), CPython {m['python']}.",
        f"- Load average (1, 5, 15 min) before: {', '.join(map(str, data['load_before']))}; "
        f"after: {', '.join(map(str, data.get('load_after', [])))}.",
    ]
    return "\n".join(lines)


def herd_table(data: dict[str, Any]) -> str:
    """``python -m benchmarks.herd``: cloudlease against the one-UpdateItem reference, and the
    lease item's size per operation."""
    rows = data["rounds"]
    lines = [
        f"`{data['command']}`, started {data['started']}, {data['contenders']} contenders, "
        f"load average before / after: {', '.join(str(x) for x in data['load_before'])} / "
        f"{', '.join(str(x) for x in data['load_after'])}.",
        "",
        "| variant | rounds | acquisitions/s median (min to max) | requests per acquisition "
        "| moto CPU ms per request | client CPU ms per request |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant, median in data["median"].items():
        rates = [r["acquisitions_per_s"] for r in rows if r["variant"] == variant]
        lines.append(
            f"| {variant} | {len(rates)} | {_f(median['acquisitions_per_s'])} "
            f"({_f(min(rates))} to {_f(max(rates))}) | {_f(median['requests_per_acquisition'], 1)} "
            f"| {_f(median['server_cpu_ms_per_request'])} "
            f"| {_f(median['client_cpu_ms_per_request'])} |"
        )
    ours, ref = (data["median"][v]["acquisitions_per_s"] for v in ("cloudlease", "reference"))
    verdict = "met" if ours >= ref else "**missed**"
    lines += [
        "",
        f"Goal: cloudlease at least the reference: {_f(ours / ref)} of it ({verdict}).",
        "",
        "| lease item | bytes after acquire | after renew | after release "
        "| write units per write |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, size in data["item_bytes"].items():
        lines.append(
            f"| {label} | {size['acquire']} | {size['renew']} | {size['release']} "
            f"| {size['write_units']} |"
        )
    return "\n".join(lines)


def _body(results: dict[str, Any], name: str, render: Any) -> str:
    data = results.get(name)
    failed = _failed(data)
    return failed if failed else str(render(data)).strip("\n")


_SLOT = re.compile(r"\{\{(\w+)\}\}")
_COMMENT = re.compile(r"<!--(.*?)-->\n?", re.DOTALL)
_RERUN = re.compile(r"^rerun (\w+) of ([\w,]+): (\S+) \((.*)\)$", re.MULTILINE)
_ADDED = re.compile(r"^added (\w+) of ([\w,]+): (\S+)$", re.MULTILINE)
_SECTION = re.compile(r"^section (\w+): (\S+)$", re.MULTILINE)
_REPLACED = re.compile(r"^replaced (\w+) of ([\w,]+): (\S+)$", re.MULTILINE)
_HERD = re.compile(r"^herd: (\S+)$", re.MULTILINE)


def _replace(data: Any, newer: dict[str, Any]) -> Any:
    """``data`` (a section's figures by store, or by "store/variant") with the stores of a
    later partial run, ``newer``, in place of this run's."""
    if not isinstance(data, dict) or "error" in data or not newer:
        return data
    kinds = {key.partition("/")[0] for key in newer}
    kept = {k: v for k, v in data.items() if k.partition("/")[0] not in kinds}
    return {**kept, **newer}


def slots(
    results: dict[str, Any],
    reruns: dict[str, dict[str, tuple[Any, str]]],
    added: dict[str, dict[str, Any]] | None = None,
) -> dict[str, str]:
    """What fills each ``{{name}}`` of the template: the run's facts and its tables.

    ``reruns`` maps a section to, per store, the figures of a later partial run and the words
    that say why it was run; ``added`` maps a section to the figures of stores
    this run did not measure, taken from a later partial run and shown beside this run's.
    """
    m = results["machine"]
    rerun = reruns.get("operations", {})
    more = (added or {}).get("operations", {})
    replaced = (added or {}).get("replaced", {})
    results = {k: _replace(v, replaced.get(k, {})) for k, v in results.items()}

    def with_added(ops: dict[str, Any]) -> dict[str, Any]:
        return {**more, **ops}  # a store this run measured keeps this run's figures

    return {
        "command": results["command"],
        "started": results["started"],
        "cpus": str(m["cpus"]),
        "cpu": m["cpu"],
        "memory": str(m["memory_gib"]),
        "system": m["system"],
        "python": m["python"],
        "load_before": ", ".join(str(x) for x in results["load_before"]),
        "load_after": ", ".join(str(x) for x in results.get("load_after", [])),
        "note": f"\n- Note: {results['note']}" if results.get("note") else "",
        "versions": ", ".join(f"{k} {v}" for k, v in results.get("versions", {}).items()),
        "timings": ", ".join(f"{k} {v:g} s" for k, v in results.get("timings", {}).items()),
        "missing": ", ".join(f"{k}: {v}" for k, v in results.get("emulators_missing", {}).items())
        or "none",
        "requests_table": _body(results, "operations", lambda ops: requests_table(with_added(ops))),
        "overhead_table": _body(
            results, "operations", lambda ops: overhead_table(with_added(ops), rerun)
        ),
        "failover_table": _body(results, "failover", failover_table),
        "takeover_table": _body(results, "takeover", takeover_table),
        "import_tables": _body(results, "imports", import_tables),
        "contention_table": _body(results, "contention", contention_table),
        "peers_tables": _body(results, "peers", peers_tables),
        "serverless_table": _body(results, "serverless", serverless_table),
        "many_leases_table": _body(results, "many_leases", many_leases_table),
        "herd_table": _body(results, "herd", herd_table),
    }


def render(results: dict[str, Any], template: Path = TEMPLATE) -> str:
    """docs/performance.md for ``results``: the template's prose with its slots filled.

    The template's comments are dropped; a ``rerun SECTION: PATH (why)`` line in them names a
    later partial run (a results JSON, relative to the repository) whose figures annotate the
    goals this run missed, e.g. ``rerun operations of azure: benchmarks/results/X.json (after
    the fix, below)``; an ``added SECTION of STORES: PATH`` line adds the rows of stores this
    run did not measure from a later partial run (the template's prose says which and when); a
    ``section SECTION: PATH`` line takes a whole section from its own run (its own command); a
    ``replaced SECTION of STORES: PATH`` line shows a later partial run's figures of those
    stores instead of this run's (after a change to them); ``herd: PATH`` names the results of
    ``python -m benchmarks.herd`` shown as ``{{herd_table}}``.
    For a section this run did not measure at all, ``added`` rows are the section.
    """
    text = template.read_text(encoding="utf-8")
    reruns: dict[str, dict[str, tuple[Any, str]]] = {}
    added: dict[str, dict[str, Any]] = {}

    def figures_of(path: str, section: str) -> Any:
        return json.loads((ROOT / path).read_text(encoding="utf-8"))[section]

    for comment in _COMMENT.findall(text):
        for section, stores, path, why in _RERUN.findall(comment):
            figures = figures_of(path, section)
            for k in stores.split(","):
                reruns.setdefault(section, {})[k] = (figures[k], why)
        for section, stores, path in _ADDED.findall(comment):
            figures = figures_of(path, section)
            added.setdefault(section, {}).update({k: figures[k] for k in stores.split(",")})
        for section, path in _SECTION.findall(comment):
            own = json.loads((ROOT / path).read_text(encoding="utf-8"))[section]
            results = {**results, section: own}
        for section, stores, path in _REPLACED.findall(comment):
            figures = json.loads((ROOT / path).read_text(encoding="utf-8"))[section]
            kinds = stores.split(",")
            newer = {k: v for k, v in figures.items() if k.partition("/")[0] in kinds}
            added.setdefault("replaced", {}).setdefault(section, {}).update(newer)
        for path in _HERD.findall(comment):
            results = {**results, "herd": json.loads((ROOT / path).read_text(encoding="utf-8"))}
    for section, rows in added.items():
        if section not in ("operations", "replaced") and section not in results:
            results = {**results, section: rows}
    values = slots(results, reruns, added)

    def fill(match: re.Match[str]) -> str:
        if match[1] not in values:
            raise KeyError(
                f"{template}: no figure named {{{{{match[1]}}}}}; known: {sorted(values)}"
            )
        return values[match[1]]

    return _SLOT.sub(fill, _COMMENT.sub("", text))


def main() -> None:
    with open(sys.argv[1]) as source:
        print(render(json.load(source)), end="")


if __name__ == "__main__":
    main()
