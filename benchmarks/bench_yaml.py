"""Measure agentlab's safe YAML loader against PyYAML's own loaders on one task file.

(a) ``yaml.safe_load`` (pure-Python scanner and parser: what task files were read with),
(b) ``yaml.load(..., Loader=yaml.CSafeLoader)`` (libyaml, no safety checks) and
(c) ``agentlab._yaml.load_yaml`` (libyaml events, Python composer with the anchor, depth and
duplicate-key checks) each load the same generated task file, in this process, best of
``--rounds``. Then the 400-byte billion-laughs agent frontmatter: how long (c) takes to refuse
it, against how many list items a plain load would expand it to.

Run: ``python benchmarks/bench_yaml.py [--megabytes 2] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import yaml

from agentlab._yaml import YamlProblem, load_yaml


def task_file(megabytes: float) -> str:
    """A task file of about ``megabytes`` MB, shaped like data/tasks/backend.yaml."""
    one = ("  - id: task-{n}\n    prompt: 'Fix the bug described in the module docstring, "
           "number {n}.'\n    tags: [bugfix, context]\n    checks:\n"
           "      - {{type: code_parses, weight: 2}}\n"
           "      - {{type: regex, pattern: 'Customer\\.id', weight: 3}}\n"
           "    rubric: Identifies both bugs and changes as little as possible.\n")
    count = int(megabytes * 1_000_000 / len(one.format(n=10_000)))
    return "tasks:\n" + "".join(one.format(n=n) for n in range(count))


def best(rounds: int, fn: Callable[[], object]) -> float:
    """Fastest of ``rounds`` runs of ``fn``, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    text = task_file(args.megabytes)
    print(f"task file: {len(text) / 1e6:.1f} MB, {text.count('- id:'):,} tasks; "
          f"best of {args.rounds}")
    pure = best(args.rounds, lambda: yaml.safe_load(text))
    libyaml = best(args.rounds, lambda: yaml.load(text, Loader=yaml.CSafeLoader))
    safe = best(args.rounds, lambda: load_yaml(text))
    assert load_yaml(text).value == yaml.load(text, Loader=yaml.CSafeLoader)
    print(f"  yaml.safe_load (pure Python)         {pure:7.2f} s")
    print(f"  yaml.CSafeLoader (libyaml)           {libyaml:7.2f} s")
    print(f"  agentlab load_yaml (libyaml+checks)  {safe:7.2f} s  "
          f"= {safe / libyaml:.2f}x CSafeLoader, {pure / safe:.1f}x faster than safe_load")

    lines = ["name: lol", "description: d", "hooks:", '  a: &a ["lol","lol","lol","lol",'
             '"lol","lol","lol","lol","lol"]']
    lines += [f"  {c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]"
              for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    bomb = "\n".join(lines)
    start = time.perf_counter()
    try:
        load_yaml(bomb)
    except YamlProblem as exc:
        refused = time.perf_counter() - start
        print(f"billion laughs ({len(bomb)} bytes, would expand to 9**9 = {9**9:,} strings): "
              f"refused in {refused * 1000:.2f} ms ({exc})")


if __name__ == "__main__":
    main()
