"""Run-wide checks: strict skips under the test command, and tests counted per directory.

With ``NETOP_STRICT_SKIPS=1`` (scripts/test.sh sets it, so CI has it) a skip is a failure
unless its reason is a kernel feature this machine cannot have (``ALLOWED_SKIPS``): root,
the Debian packages, the C compiler and ``../shared`` are the test command's to provide,
and a run that silently skipped them would be green while testing nothing.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, settings

# A busy CI machine makes example generation slow: hypothesis must not call that a
# failure (a test that passes only on an idle machine is broken). Tests' own
# @settings inherit this and change only what they name.
settings.register_profile(
    "netop", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("netop")

STRICT_ENV = "NETOP_STRICT_SKIPS"

#: Skip reasons that may stand in a strict run: kernel features, not installable here.
ALLOWED_SKIPS: tuple[tuple[str, str], ...] = (
    (r"no VLAN devices in this kernel \(8021q\)", "the 8021q module is a kernel build option"),
    (r"user namespaces unavailable", "unprivileged user namespaces are a kernel setting"),
    (r"no IPv6 in this kernel|no IPv6 here|no ::1 here|cannot bind ::1", "IPv6 disabled"),
    (r"/proc/net hex is host order", "a big-endian machine"),
)

_skips: list[tuple[str, str]] = []  # (node id, reason)
_counts: dict[str, Counter[str]] = {}
#: Seconds spent per test directory (setup, call and teardown): where CI time goes.
_seconds: defaultdict[str, float] = defaultdict(float)


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr  # (path, line, "Skipped: reason") for a skip
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr
    return str(text).removeprefix("Skipped: ")


def _area(nodeid: str) -> str:
    parts = nodeid.split("::")[0].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else parts[0]


def allowed(reason: str) -> bool:
    """Whether a skip with this reason may stand in a strict run."""
    return any(re.search(pattern, reason) for pattern, _ in ALLOWED_SKIPS)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count each test once (its call, or the phase that skipped or failed it)."""
    counts = _counts.setdefault(_area(report.nodeid), Counter())
    _seconds[_area(report.nodeid)] += report.duration
    if report.skipped:
        _skips.append((report.nodeid, _reason(report)))
        counts["skipped"] += 1
    elif report.when == "call":
        counts["failed" if report.failed else "passed"] += 1
    elif report.failed:
        counts["errors"] += 1


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A whole module skipped at collection is a skip too."""
    if report.skipped:
        _skips.append((report.nodeid, _reason(report)))
        _counts.setdefault(_area(report.nodeid), Counter())["skipped"] += 1


def _refused() -> list[tuple[str, str]]:
    if os.environ.get(STRICT_ENV) != "1":
        return []
    return [(nodeid, reason) for nodeid, reason in _skips if not allowed(reason)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A strict run with a skip that is not allowed fails, even when all else passed."""
    if _refused() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Tests run per directory; in a strict run, every skip that made it fail."""
    write = terminalreporter.write_line
    if _counts:
        areas = []
        for area in sorted(_counts):
            c = _counts[area]
            ran = c["passed"] + c["failed"]
            extra = "".join(f", {c[k]} {k}" for k in ("skipped", "errors") if c[k])
            took = f"{_seconds[area]:.0f} s"
            areas.append(f"{area} {ran} ran in {took} ({c['failed']} failing{extra})")
        write("tests per directory: " + "; ".join(areas))
    refused = _refused()
    if refused:
        terminalreporter.section("skips that fail a strict run", sep="=", red=True, bold=True)
        reasons = Counter(reason for _, reason in refused)
        for reason, n in reasons.most_common():
            example = next(nodeid for nodeid, r in refused if r == reason)
            write(f"{n} x {reason}  (e.g. {example})")
        write(
            f"{len(refused)} tests skipped for something the test command provides (root, a "
            f"Debian package, the C compiler, ../shared): with {STRICT_ENV}=1 that fails the "
            "run. Allowed reasons: tests/conftest.py ALLOWED_SKIPS."
        )
