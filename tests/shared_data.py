"""Where the shared reference data lives: ``../shared`` beside the repository root.

The captures and exports there belong to public projects and are never committed here;
tests that read them skip, with a reason naming the missing path, where it is absent
(a CI run counts that skip as a failure: see tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Every skip for absent shared data starts with this, so a strict run can name it.
ABSENT = "shared reference data absent"


def shared_dir() -> Path:
    """The shared reference folder, ``../shared`` relative to the repository root."""
    return REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path inside the shared folder (which may not exist)."""
    return shared_dir().joinpath(*parts)


def absent_reason(path: Path) -> str:
    """The skip reason for a missing shared path."""
    return f"{ABSENT}: {path} not found (expected ../shared beside the repository root)"


def require_shared(*parts: str) -> Path:
    """The shared path, or skip the calling test with a clear reason where it is absent."""
    import pytest  # only here: bench/ imports this module without pytest's machinery

    path = shared_path(*parts)
    if not path.exists():
        pytest.skip(absent_reason(path))
    return path
