"""Summarise py-spy's raw (collapsed) stacks: where the samples were, by function and package.

    python tests/bench/profile_stacks.py STACKS.txt [--top 10]

STACKS.txt comes from ``py-spy record --format raw --function --threads
--full-filenames``: one line per distinct stack, ``thread (tid): name;frame;...;frame
count``, each frame ``function (path:line)``. A sample's self time goes to its
innermost frame; its inclusive time to every distinct frame on the stack. Percentages
are of all samples (idle threads are not sampled, so they add to nothing).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*):(?P<line>\d+)\)$")
PARLEY = ("bot", "adapters", "storage")
# The composition root sits under every request: its inclusive time says nothing.
ENTRY = "bot/main.py"
# Code whose whole cost (itself and what it calls) is worth knowing on the slash path.
PROBES = (
    "slack_bolt/middleware/",
    "slack_bolt/",
    "logging/",
    "bot/logs.py",
    "adapters/metrics.py",
    "prometheus_client/",
    "dateparser/",
    "sqlalchemy/",
    "aiosqlite/",
    "asyncpg/",
    "json/",
    "urllib/",
)


def short_path(path: str, root: Path) -> str:
    """Site packages and the standard library from their top-level name; Parley from its root."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if path.startswith(str(root) + "/"):
        return path[len(str(root)) + 1 :]
    if "/lib/python3." in path:
        return path.split("/lib/python3.", 1)[1].split("/", 1)[1]
    return path


def package(path: str) -> str:
    """The top-level package or module a (shortened) path belongs to."""
    first = path.split("/", 1)[0]
    return first.removesuffix(".py") or "?"


def label(frame: str, root: Path) -> tuple[str, str]:
    """(display name, package) of one frame."""
    match = FRAME.match(frame)
    if match is None:
        return frame, "?"
    path = short_path(match["path"], root)
    return f"{match['function']} ({path}:{match['line']})", package(path)


def summarise(raw: str, *, root: Path = ROOT, top: int = 10) -> str:
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, _, frames_text = stack.partition(";")
        frames = frames_text.split(";") if frames_text else []
        total += count
        threads[re.sub(r"^thread \(\d+\): ", "", thread) or "?"] += count
        if not frames:
            own["(no Python frame)"] += count
            continue
        name, pkg = label(frames[-1], root)
        own[name] += count
        packages[pkg] += count
        paths = set()
        for frame in set(frames):
            name, pkg = label(frame, root)
            paths.add(name.rsplit(" (", 1)[-1])
            if pkg in PARLEY and ENTRY not in name:
                inclusive[name] += count
        for probe in PROBES:
            if any(path.startswith(probe) for path in paths):
                under[probe] += count
    if total == 0:
        return "  no samples"

    def share(count: int) -> str:
        return f"{100 * count / total:5.1f}%"

    lines = [f"  {total} samples; by thread: "]
    lines[0] += ", ".join(f"{name} {share(n).strip()}" for name, n in threads.most_common())
    lines.append(f"  top {top} by self time:")
    lines += [f"    {share(n)}  {name}" for name, n in own.most_common(top)]
    lines.append("  self time by package: ")
    lines[-1] += ", ".join(f"{name} {share(n).strip()}" for name, n in packages.most_common(12))
    lines.append("  inclusive time under: ")
    lines[-1] += ", ".join(f"{name} {share(under[name]).strip()}" for name in PROBES)
    lines.append(f"  top {top} Parley functions by inclusive time:")
    lines += [f"    {share(n)}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stacks")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    print(summarise(Path(args.stacks).read_text(), top=args.top))
