"""The dossier as Markdown and as one self-contained, printable HTML page.

Both read the data of :func:`sopgate.dossier.build` only, so the three files never disagree.
"""

from __future__ import annotations

from typing import Any

from sopgate.dossier import escape

NO_FINDINGS = (
    "No findings: every step with jobs has a record of an open gate, every record replays, "
    "and the order and chain of the records hold."
)


def _cell(text: Any) -> str:
    return ("" if text is None else str(text)).replace("|", "\\|").replace("\n", " ")


def _entries(check: dict[str, Any]) -> str:
    if not check["entries"]:
        return "no entry"
    return "; ".join(
        ("" if e["name"] == check["pattern"] else f"{e['name']}: ")
        + e["state"]
        + (f" at {e['at']}" if e["at"] else "")
        for e in check["entries"]
    )


def _gates(step: dict[str, Any]) -> str:
    if not step["gates"]:
        return "no record"
    return "; ".join(
        f"{g['decision']} at {g['observed_at']}"
        + (f" (started by {g['initiator']})" if g["initiator"] else "")
        for g in step["gates"]
    )


def _evidence(item: dict[str, Any]) -> str:
    text = f"{item['pattern']}: " + (", ".join(item["files"]) or "no file at the commit")
    if item["require"]:
        text += "; requires " + ", ".join(f"{q} {c}" for q, c in item["require"].items())
    for path, values in item["values"].items():
        text += f"; {path}: " + ", ".join(f"{q} = {v!r}" for q, v in values.items())
    return text


def _heading(data: dict[str, Any]) -> tuple[str, str]:
    title = f"Deployment dossier: {data.get('system', {}).get('name', 'unknown SOP')}"
    change = data.get("change") or {}
    parts = [f"commit {data.get('commit') or 'unknown'}"]
    if data.get("repository"):
        parts.append(f"of {data['repository']}")
    if change.get("id") is not None:
        parts.append(
            f"change {change['id']}" + (f" by {change['author']}" if change.get("author") else "")
        )
    parts.append(f"last record observed at {data.get('last_observed_at', 'unknown')}")
    parts.append(f"written by sopgate {data['sopgate']}")
    return title, ", ".join(parts)


def render_markdown(data: dict[str, Any]) -> str:
    title, subtitle = _heading(data)
    out = [f"# {title}", "", subtitle, "", "## Findings", ""]
    if data["findings"]:
        out.append(f"**🔴 {len(data['findings'])} finding(s): this trail is not complete.**")
        out.append("")
        out.extend(f"- 🔴 {finding}" for finding in data["findings"])
    else:
        out.append(f"✅ {NO_FINDINGS}")
    out.append("")
    if data.get("notes"):
        out += ["Notes (not findings):", ""]
        out.extend(f"- {note}" for note in data["notes"])
        out.append("")
    if "system" in data:
        system, sop = data["system"], data["sop"]
        out += [
            "## System and scope",
            "",
            f"- SOP: {system['name']}",
            f"- System: {system['system'] or 'not named'}",
            f"- Environments: {', '.join(system['environments']) or 'none'}",
            f"- Regions: {', '.join(system['regions']) or 'none'}",
        ]
        if system["description"]:
            out.append(f"- Description: {system['description']}")
        out += [
            "",
            "## SOP version",
            "",
            f"- File: {sop['path']}",
            f"- sha256: `{sop['sha256']}`",
            f"- Last reviewed: {sop['last_reviewed'] or 'never recorded'}"
            + (
                f" (every {sop['every_days']} days; due {sop['review_due']})"
                if sop["every_days"]
                else ""
            ),
            f"- Owners (approve changes to it): {', '.join(sop['owners']) or 'none'}",
            "",
            "## Sequence",
            "",
            "| # | Step | Owner | State | Gate records | Approvers | Done at |",
            "|---|---|---|---|---|---|---|",
        ]
        for number, step in enumerate(data["sequence"], 1):
            cells = [
                str(number),
                f"{step['key']} ({step['name']})",
                step["owner"],
                step["state"],
                _gates(step),
                ", ".join(step["approvers"]) or "-",
                step["done_at"] or "-",
            ]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out += [
            "",
            "```mermaid",
            data["diagram"].rstrip("\n"),
            "```",
            "",
            "## Checks and evidence",
            "",
        ]
        for step in data["sequence"]:
            lines = [f"- check {c['rule']}: {_entries(c)}" for c in step["checks"]]
            lines += [f"- job {j['rule']}: {_entries(j)}" for j in step["jobs"]]
            lines += [f"- evidence {_evidence(e)}" for e in step["evidence"]]
            lines += [f"- reason: {r}" for r in step["reasons"]]
            if lines:
                out += [f"### {step['key']}", "", *lines, ""]
        out += ["## Rollback criteria", ""]
        rollbacks = [s for s in data["sequence"] if s["rollback"]]
        out += [f"- {s['key']}: {s['rollback']}" for s in rollbacks] or ["None recorded."]
        out += ["", "## Emergency overrides", ""]
        out += [_emergency(e) for e in data["emergencies"]] or ["None."]
        out.append("")
    out += [
        "## Records",
        "",
        "| Record | Step | Decision | Observed at | report_digest | Replays |",
        "|---|---|---|---|---|---|",
    ]
    for record in data["records"]:
        digest = (record["report_digest"] or "-")[:16]
        out.append(
            f"| {_cell(record['path'])} | {_cell(record['step'])} | {record['decision']} "
            f"| {record['observed_at']} | `{digest}` | {'yes' if record['replays'] else '**no**'} |"
        )
    return "\n".join(out) + "\n"


def _emergency(item: dict[str, Any]) -> str:
    if item["opened"]:
        return (
            f"- 🔴 the gate of {item['step']} opened only by an emergency override "
            f"({item['opened']})"
        )
    return (
        f"- 🔴 EMERGENCY OVERRIDE by {item['user']} for {item['step']} at {item['at']}: "
        f"{item['reason']}"
    )


CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f23;
       max-width: 1100px; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 1px solid #d0d7de;
     padding-bottom: .2em; margin-top: 1.6em; } h3 { margin-bottom: .3em; }
.sub { color: #57606a; } code, pre { font: 12px ui-monospace, "SFMono-Regular", monospace; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #d0d7de; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.findings { border: 2px solid #cf222e; background: #ffebe9; color: #82071e; padding: .6em 1em; }
.findings li { margin: .2em 0; } .ok { border: 2px solid #1a7f37; background: #dafbe1;
     color: #116329; padding: .6em 1em; }
.state-done { color: #116329; } .state-rejected, .state-failed, .no { color: #cf222e;
     font-weight: 600; } .state-blocked, .state-waiting { color: #9a6700; }
.diagram svg { max-width: 100%; height: auto; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2 { page-break-after: avoid; } tr, li, .diagram { page-break-inside: avoid; }
  .findings, .ok { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def render_html(data: dict[str, Any], svg: str | None) -> str:
    title, subtitle = _heading(data)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{escape(subtitle)}</p>',
        "<h2>Findings</h2>",
    ]
    if data["findings"]:
        count = len(data["findings"])
        out.append(
            f'<div class="findings"><strong>{count} finding(s): this trail is not complete.'
            "</strong><ul>"
        )
        out.extend(f"<li>{escape(f)}</li>" for f in data["findings"])
        out.append("</ul></div>")
    else:
        out.append(f'<p class="ok">{escape(NO_FINDINGS)}</p>')
    if data.get("notes"):
        out.append("<p>Notes (not findings):</p><ul>")
        out.extend(f"<li>{escape(note)}</li>" for note in data["notes"])
        out.append("</ul>")
    if "system" in data:
        out += _html_body(data, svg)
    out += [
        "<h2>Records</h2><table><tr><th>Record</th><th>Step</th><th>Decision</th>"
        "<th>Observed at</th><th>report_digest</th><th>Replays</th></tr>"
    ]
    for record in data["records"]:
        replays = "yes" if record["replays"] else '<span class="no">no</span>'
        out.append(
            f"<tr><td>{escape(record['path'])}</td><td>{escape(record['step'])}</td>"
            f"<td>{escape(record['decision'])}</td><td>{escape(record['observed_at'])}</td>"
            f"<td><code>{escape((record['report_digest'] or '-')[:16])}</code></td>"
            f"<td>{replays}</td></tr>"
        )
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"


def _html_body(data: dict[str, Any], svg: str | None) -> list[str]:
    system, sop = data["system"], data["sop"]
    review = escape(sop["last_reviewed"] or "never recorded")
    if sop["every_days"]:
        review += escape(f" (every {sop['every_days']} days; due {sop['review_due']})")
    out = [
        "<h2>System and scope</h2><ul>",
        f"<li>SOP: {escape(system['name'])}</li>",
        f"<li>System: {escape(system['system'] or 'not named')}</li>",
        f"<li>Environments: {escape(', '.join(system['environments']) or 'none')}</li>",
        f"<li>Regions: {escape(', '.join(system['regions']) or 'none')}</li>",
    ]
    if system["description"]:
        out.append(f"<li>Description: {escape(system['description'])}</li>")
    out += [
        "</ul><h2>SOP version</h2><ul>",
        f"<li>File: {escape(sop['path'])}</li>",
        f"<li>sha256: <code>{escape(sop['sha256'])}</code></li>",
        f"<li>Last reviewed: {review}</li>",
        f"<li>Owners (approve changes to it): {escape(', '.join(sop['owners']) or 'none')}</li>",
        "</ul><h2>Sequence</h2>",
        "<table><tr><th>#</th><th>Step</th><th>Owner</th><th>State</th><th>Gate records</th>"
        "<th>Approvers</th><th>Done at</th></tr>",
    ]
    for number, step in enumerate(data["sequence"], 1):
        out.append(
            f"<tr><td>{number}</td><td><strong>{escape(step['key'])}</strong><br>"
            f"{escape(step['name'])}</td><td>{escape(step['owner'])}</td>"
            f'<td class="state-{escape(step["state"])}">{escape(step["state"])}</td>'
            f"<td>{escape(_gates(step))}</td><td>{escape(', '.join(step['approvers']) or '-')}</td>"
            f"<td>{escape(step['done_at'] or '-')}</td></tr>"
        )
    out.append("</table>")
    if svg is not None:
        out.append(f'<div class="diagram">{svg}</div>')
    else:
        out.append(f'<pre class="mermaid">{escape(data["diagram"])}</pre>')
    out.append("<h2>Checks and evidence</h2>")
    for step in data["sequence"]:
        items = [f"check {escape(c['rule'])}: {escape(_entries(c))}" for c in step["checks"]]
        items += [f"job {escape(j['rule'])}: {escape(_entries(j))}" for j in step["jobs"]]
        items += [f"evidence {escape(_evidence(e))}" for e in step["evidence"]]
        items += [f"reason: {escape(r)}" for r in step["reasons"]]
        if items:
            out.append(f"<h3>{escape(step['key'])}</h3><ul>")
            out.extend(f"<li>{item}</li>" for item in items)
            out.append("</ul>")
    out.append("<h2>Rollback criteria</h2><ul>")
    rollbacks = [s for s in data["sequence"] if s["rollback"]]
    out += [
        f"<li><strong>{escape(s['key'])}</strong>: {escape(s['rollback'])}</li>" for s in rollbacks
    ]
    out.append("</ul>" if rollbacks else "<li>None recorded.</li></ul>")
    out.append("<h2>Emergency overrides</h2>")
    if data["emergencies"]:
        out.append('<div class="findings"><ul>')
        out += [f"<li>{escape(_emergency(e)[4:])}</li>" for e in data["emergencies"]]
        out.append("</ul></div>")
    else:
        out.append("<p>None.</p>")
    return out
