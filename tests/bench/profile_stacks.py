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


def short_path(path: str, root: Path) -> str:
    if path.startswith(str(root) + "/"):
        return path[len(str(root)) + 1 :]
    for marker in ("site-packages/", "/lib/python3."):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker.startswith("/lib") else tail
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
        for frame in set(frames):
            name, pkg = label(frame, root)
            if pkg in PARLEY:
                inclusive[name] += count
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
    lines.append(f"  top {top} Parley functions by inclusive time:")
    lines += [f"    {share(n)}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stacks")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    print(summarise(Path(args.stacks).read_text(), top=args.top))
