"""The application-layer lines of a flow's detail (HTTP, TLS, DNS; ``netop/native/app.h``).

The text came from packets: every value goes through :func:`netop.text.safe_text` and is
shown as plain text by the caller, never as markup.
"""

from __future__ import annotations

from netop.model import FlowFields
from netop.text import safe_text


def _list(items: tuple[str, ...] | None) -> str:
    return ", ".join(safe_text(i, 80) for i in items) if items else ""


def app_rows(r: FlowFields) -> list[tuple[str, str]]:
    """(label, value) lines for the flow's application facts; none when it has none."""
    facts = r.app
    if facts is None:
        return []
    rows = [("application", safe_text(facts.app, 8).upper())]
    if facts.app == "tls":
        rows.append(("tls sni", safe_text(facts.sni) if facts.sni else "— (none sent)"))
        rows.append(("tls alpn", _list(facts.alpn) or "—"))
    elif facts.app == "http":
        rows.append(("http request", safe_text(facts.http_request or "—", 160)))
        rows.append(("http host", safe_text(facts.http_host or "—")))
    else:
        query = " ".join(safe_text(v) for v in (facts.dns_qname, facts.dns_qtype) if v)
        rows.append(("dns query", query or "—"))
        if facts.dns_rcode is None:
            rows.append(("dns answer", "— (no response seen)"))
        else:
            answers = _list(facts.dns_records)
            rows.append(("dns answer", safe_text(facts.dns_rcode, 16)
                         + (f": {answers}" if answers else "")))
    return rows
