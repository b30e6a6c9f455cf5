"""Leaving privilege behind in the capture child, like tcpdump ``-Z`` and dumpcap.

Once its sockets are open the child switches to the invoking user, drops every
capability and sets ``PR_SET_NO_NEW_PRIVS``: what it does after that (parse packets,
write ``-w`` files) it does with no more rights than the person who ran netop.
Only ``os`` and ``pwd`` are imported here; the capability calls live in the C fast path
(``ctypes`` is loaded only when that extension is missing).
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping

#: Whom a root child becomes when nobody asked for root and nobody invoked it through
#: sudo, doas or pkexec: it never writes files as root by default.
FALLBACK_USER = "nobody"

_PR_SET_NO_NEW_PRIVS = 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class PrivilegeError(Exception):
    """The child cannot become the user it must run as."""


def invoking_user(environ: Mapping[str, str]) -> tuple[int, int] | None:
    """The (uid, gid) of who asked for root: sudo, doas or pkexec set these variables.

    They come from the privilege tool itself (they are reset for the command it runs),
    so the child can trust them; a value that does not parse is an error, not ignored.
    """
    if environ.get("SUDO_UID"):
        try:
            uid = int(environ["SUDO_UID"])
            gid = int(environ.get("SUDO_GID") or _user_by_uid(uid)[1])
        except ValueError:
            raise PrivilegeError("SUDO_UID/SUDO_GID are not numbers") from None
        return uid, gid
    if environ.get("PKEXEC_UID"):
        try:
            return _user_by_uid(int(environ["PKEXEC_UID"]))
        except ValueError:
            raise PrivilegeError("PKEXEC_UID is not a number") from None
    if environ.get("DOAS_USER"):
        return _user_by_name(environ["DOAS_USER"])
    return None


def target_user(environ: Mapping[str, str], configured: str | None) -> tuple[int, int]:
    """Whom a child running as root becomes.

    The invoker (sudo/doas/pkexec) wins and ``capture.user`` may only name that same
    user: otherwise a sudoers rule for the capture program would let its caller become
    anyone. A root that was not invoked through a tool may choose (``capture.user``,
    like ``tcpdump -Z``, ``root`` included); by default it is :data:`FALLBACK_USER`.
    """
    invoker = invoking_user(environ)
    if invoker is not None:
        if configured is not None and _user_by_name(configured)[0] != invoker[0]:
            raise PrivilegeError(f"capture.user {configured!r} is not the invoking user")
        return invoker
    return _user_by_name(configured or FALLBACK_USER)


def _user_by_uid(uid: int) -> tuple[int, int]:
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return uid, uid
    return entry.pw_uid, entry.pw_gid


def _user_by_name(name: str) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if name.isdigit():
            return int(name), int(name)
        raise PrivilegeError(f"no such user: {name}") from None
    return entry.pw_uid, entry.pw_gid


def drop(environ: Mapping[str, str], configured: str | None) -> str:
    """Become the right user with no capabilities; returns who that is, for the log."""
    if os.geteuid() == 0 or os.getuid() == 0:
        uid, gid = target_user(environ, configured)
        if uid == 0:  # asked for in so many words: keep the uid, still lose every capability
            drop_capabilities()
            return "root (capture.user), no capabilities"
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    drop_capabilities()
    return f"uid {os.getuid()}, no capabilities"


def drop_capabilities() -> None:
    """Empty the effective, permitted and inheritable sets (ambient goes with them) and
    set no_new_privs, so that nothing this process runs can gain rights again."""
    from netop.native import fastpath

    ext = fastpath.load(installed_only=True)
    if ext is not None and hasattr(ext, "drop_capabilities"):
        ext.drop_capabilities()
        return
    import ctypes  # only without the C extension: it stays in memory for the whole run

    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def capabilities_effective(pid: int | str = "self") -> int:
    """``CapEff`` of a process, from /proc (0 = none)."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def capture_rights_advice(launcher: str, helper: tuple[str, ...]) -> str:
    """How to grant packet capture, for the one line netop says when it may not capture.

    The right goes to the capture launcher alone (a small compiled program that runs
    only netop's capture child), through file capabilities limited to a group or
    through ``sudo -n`` for exactly that program: never to a Python interpreter, which
    would let every script of every user capture.
    """
    base = ("packet capture needs CAP_NET_RAW, which only netop's capture launcher should "
            "hold (never the Python interpreter)")
    grant = ("`sudo netop install-capture --file-caps --group netop` (members of group netop "
             "may then capture), or `sudo netop install-capture` with a sudoers line for the "
             'launcher alone and capture.helper = ["sudo", "-n"] (README: Capture rights)')
    if helper:
        return (f"{base}: `{' '.join(helper)} {launcher}` was refused; check the sudoers line "
                f"for {launcher} (README: Capture rights)")
    if not os.path.exists(launcher):
        return f"{base}: {launcher} is not installed; install it once as root: {grant}"
    return f"{base}: {launcher} is installed without capture rights; grant them: {grant}"
