"""``sipfault codes``: the response-code catalogue as a table, or one code in detail."""

from __future__ import annotations

from sipfault.sip.codes import CATALOGUE, NOT_SIP, CodeInfo, HeaderRequirement


def _requirement(requirement: HeaderRequirement) -> str:
    text = requirement.header
    if requirement.methods is not None:
        text += f" ({'/'.join(sorted(requirement.methods))})"
    if requirement.when:
        text += f" [when {requirement.when}]"
    return text


def _flags(info: CodeInfo) -> str:
    flags = []
    if info.deprecated:
        flags.append("deprecated")
    if info.uncertain:
        flags.append("unverified")
    return f" ({', '.join(flags)})" if flags else ""


def is_sip_code(code: int) -> bool:
    """Whether ``code`` may be a SIP status code at all: 100-699 (RFC 3261 §7.2) and not one of
    the vendor numbers that only look like one."""
    return 100 <= code <= 699 and code not in NOT_SIP


def format_table() -> str:
    """Every catalogued code: code, reason phrase, where defined, required fields (with the
    methods a requirement is limited to, as the detail view shows them)."""
    rows = [("code", "reason", "defined in", "must carry")]
    for code, info in sorted(CATALOGUE.items()):
        must = ", ".join(_requirement(r) for r in info.must if not r.when) or "-"
        rows.append((str(code), info.reason + _flags(info), info.defined_in, must))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}"
        for row in rows
    )


def format_detail(code: int) -> str:
    """One code: everything the catalogue knows, or why it is not a SIP code."""
    info = CATALOGUE.get(code)
    if info is None:
        if code in NOT_SIP:
            return f"{code}: not a SIP response code. {NOT_SIP[code]}"
        if 100 <= code <= 699:
            return (f"{code}: not in the catalogue; clients treat it as "
                    f"{code // 100}00 (RFC 3261 §8.1.3.2). sipfault can still send it.")
        return f"{code}: not a SIP response code (status codes are 100-699, RFC 3261 §7.2)."
    lines = [
        f"{code} {info.reason}{_flags(info)}",
        f"  defined in:  {info.defined_in}",
        f"  class:       {info.response_class.name.lower().replace('_', ' ')}",
        f"  must carry:  {'; '.join(_requirement(r) for r in info.must) or '-'}",
        f"  should:      {'; '.join(_requirement(r) for r in info.should) or '-'}",
        f"  To-tag:      {'yes' if info.needs_to_tag else 'no'}",
        f"  Retry-After: {'allowed' if info.retry_after else 'not listed for this code'}",
    ]
    if info.body:
        lines.append(f"  body:        {info.body}")
    if info.notes:
        lines.append(f"  notes:       {info.notes}")
    return "\n".join(lines)
