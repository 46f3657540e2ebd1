"""``--since REV``: which files were added since a git revision (committed or not)."""

from __future__ import annotations

import os
import subprocess


class GitError(Exception):
    """git is missing, this is not a repository, or the revision is unknown."""


def _git(cwd: str, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if result.returncode != 0:
        raise GitError(result.stderr.strip() or f"git {' '.join(args)} failed")
    return result.stdout


def added_files(revision: str, cwd: str | None = None) -> set[str]:
    """Absolute, resolved paths of files added since ``revision``.

    Counts files added in commits after ``revision``, staged or not, and untracked files
    (a new migration not yet ``git add``-ed is still new).
    """
    cwd = cwd or os.getcwd()
    root = _git(cwd, "rev-parse", "--show-toplevel").strip()
    _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    names = _git(root, "diff", "--name-only", "--diff-filter=A", "-z", revision, "--")
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z")
    paths = [p for p in (names + untracked).split("\0") if p]
    return {os.path.realpath(os.path.join(root, p)) for p in paths}
