"""The capture entry point: how the capture child is started, and how it is installed.

Capture rights live in one small program, as in Wireshark's dumpcap: a compiled
launcher (default :data:`LAUNCHER`) with the interpreter and the package path baked in.
It takes no arguments, clears the environment, changes to ``/`` and runs this venv's
interpreter isolated (``-I``: no current directory, no ``PYTHON*`` variables, no user
site) on :mod:`netop.sources.capture.child`, which reads a validated config from stdin, opens
its sockets and drops every right. Either a sudoers line for exactly that launcher
(``capture.helper = ["sudo", "-n"]``) or file capabilities on it alone grant the
rights; file capabilities on a script or on a shared interpreter would not be sound.
Ambient capabilities carry CAP_NET_RAW/CAP_NET_ADMIN from the launcher into the
interpreter it starts, and nowhere else.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile

from netop.errors import NetopError

#: Where ``netop install-capture`` puts the launcher, and where netop looks for it.
LAUNCHER = "/usr/local/libexec/netop-capture"

#: The only variables a privileged child is given: the invoking user, as sudo, doas
#: or pkexec set it, is whom it switches to.
INVOKER_VARIABLES = ("SUDO_UID", "SUDO_GID", "SUDO_USER", "DOAS_USER", "PKEXEC_UID")

_BOOTSTRAP = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from netop.sources.capture.child import main; sys.exit(main())"
)

_LAUNCHER_C = r"""
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* netop capture launcher: runs one fixed interpreter on one fixed program. */
int main(void) {
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    const unsigned int want = (1u << CAP_NET_RAW) | (1u << CAP_NET_ADMIN);
    if (getuid() != 0 && syscall(SYS_capget, &head, data) == 0) {
        /* file capabilities: hand them to the interpreter as ambient ones */
        data[0].inheritable = data[0].permitted & want;
        data[1].inheritable = 0;
        if (syscall(SYS_capset, &head, data) == 0) {
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0);
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0);
        }
    }
    if (chdir("/") != 0) return 126;
    char *const argv[] = {PYTHON, "-I", "-c", BOOTSTRAP, NULL};
    /* a clean environment: only the variables naming the invoking user survive */
    extern char **environ;
    static char *keep[16];
    int n = 0;
    keep[n++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    keep[n++] = "LANG=C.UTF-8";
    for (char **e = environ; *e && n < 14; e++) {
        const char *names[] = {"SUDO_UID=", "SUDO_GID=", "SUDO_USER=", "DOAS_USER=", "PKEXEC_UID="};
        for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
            size_t len = 0;
            while (names[i][len]) len++;
            int same = 1;
            for (size_t j = 0; j < len; j++) if ((*e)[j] != names[i][j]) { same = 0; break; }
            if (same) { keep[n++] = *e; break; }
        }
    }
    keep[n] = NULL;
    execve(PYTHON, argv, keep);
    perror("netop-capture: " PYTHON);
    return 127;
}
"""


def package_root() -> str:
    """The directory holding the ``netop`` package, so the child imports the same code."""
    import netop  # from the package itself: counting dirname()s broke when this file moved

    return os.path.dirname(os.path.dirname(os.path.abspath(netop.__file__)))


def bootstrap() -> str:
    """The ``-c`` program: the package path is part of the program, not an argument."""
    return _BOOTSTRAP.format(root=package_root())


def child_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The scrubbed environment of a child started directly (no PYTHON*, no LD_*)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    # NETOP_PURE_PYTHON only turns the C fast path off (the benchmark compares both)
    env.update(
        {k: environ[k] for k in (*INVOKER_VARIABLES, "NETOP_PURE_PYTHON") if environ.get(k)}
    )
    return env


def child_command(helper: tuple[str, ...], launcher: str) -> list[str]:
    """The child's argv: through the installed launcher when a helper (sudo) is set or
    when we are not root and it is installed, else this interpreter, isolated."""
    if helper:
        return [*helper, launcher]
    if os.geteuid() != 0 and os.access(launcher, os.X_OK):
        return [launcher]
    return [sys.executable, "-I", "-c", bootstrap()]


def _check_owned_by_root(path: str) -> None:
    """``path`` and every directory above it: root-owned, not writable by others, so
    that nobody but root can change what the launcher runs."""
    current = os.path.abspath(path)
    while True:
        st = os.lstat(current)
        writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not stat.S_ISLNK(st.st_mode)
        sticky_parent = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX and current != path
        if st.st_uid != 0 or (writable and not sticky_parent):
            raise NetopError(
                f"{current} must be owned by root and not group/world-writable: the "
                "capture launcher runs it with capture rights"
            )
        if current == "/":
            return
        current = os.path.dirname(current)


def _import_path(python: str) -> list[str]:
    """Where ``python -I`` imports from (stdlib, site-packages and their ``.pth``
    files): the launcher's code runs from there with capture rights."""
    done = subprocess.run(
        [python, "-I", "-c", "import sys; print('\\n'.join(sys.path))"],
        capture_output=True,
        text=True,
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    if done.returncode != 0:
        raise NetopError(f"{python} does not run: {done.stderr.strip()[:200]}")
    return [p for p in done.stdout.splitlines() if p and os.path.exists(p)]


def install(
    target: str = LAUNCHER,
    file_caps: bool = False,
    group: str | None = None,
    python: str | None = None,
) -> str:
    """Build and install the launcher (root-owned, 0755, or 0750 for ``group``).

    ``python`` defaults to this venv's interpreter (its own path, not the resolved one:
    that keeps the venv's site-packages); it must be one the users can execute.
    """
    if os.geteuid() != 0:
        raise NetopError("install-capture must run as root (it installs a root-owned program)")
    python = os.path.abspath(python or sys.executable)
    for path in (python, os.path.realpath(python), package_root(), *_import_path(python)):
        _check_owned_by_root(path)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise NetopError("install-capture needs a C compiler (cc)")
    defines = [
        f"-DPYTHON={_c_string(python)}",
        f"-DBOOTSTRAP={_c_string(bootstrap())}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "launcher.c")
        with open(src, "w") as handle:
            handle.write(_LAUNCHER_C)
        built = os.path.join(tmp, "netop-capture")
        done = subprocess.run(
            [cc, "-O2", "-Wall", *defines, "-o", built, src], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise NetopError(f"cannot build the capture launcher: {done.stderr.strip()[:300]}")
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        _check_owned_by_root(os.path.dirname(target))
        staged = target + ".new"
        shutil.copyfile(built, staged)
    gid = 0
    if group is not None:
        import grp

        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise NetopError(f"no such group: {group}") from None
    os.chown(staged, 0, gid)
    os.chmod(staged, 0o750 if group else 0o755)
    os.replace(staged, target)
    if file_caps:
        done = subprocess.run(
            ["setcap", "cap_net_raw,cap_net_admin=p", target], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise NetopError(f"setcap failed: {done.stderr.strip()[:300]}")
    return target


def _c_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
