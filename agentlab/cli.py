"""The ``agentlab`` command line: a thin layer over the library for the shell and CI.

Exit codes: 0 ok, 1 invalid input or some cells failed, 2 usage error, 130 interrupted.
Every :class:`~agentlab.errors.AgentlabError` becomes one line on stderr, no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentlab.errors import AgentlabError

if TYPE_CHECKING:
    from agentlab.tasks import Task

DEFAULT_AGENTS = Path("data/agents")
DEFAULT_TASKS = Path("data/tasks/backend.yaml")
DEFAULT_ROUTING_AGENT = Path("data/agents/python-pro-backend.md")
DEFAULT_TRIAL_TASKS = Path("data/workspaces/tasks.yaml")


def _print_table(rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r[k]).ljust(widths[k]) for k in keys))


def cmd_agents(args: argparse.Namespace) -> int:
    """List and validate agent files; report every error at once."""
    from agentlab.agents._agent import UnknownFieldWarning, load_agents
    from agentlab.errors import AgentFileErrors

    try:
        with warnings.catch_warnings():  # each remark is printed once below, as a note
            warnings.simplefilter("ignore", UnknownFieldWarning)
            agents = load_agents(args.paths or [DEFAULT_AGENTS], collect_errors=True)
    except AgentFileErrors as exc:
        for err in exc.errors:
            print(f"agentlab: error: {err}", file=sys.stderr)
        return 1
    _print_table([{"name": a.name, "model": a.model or "-", "yaml": a.parse_mode,
                   "hash": a.content_hash, "words": len(a.body.split()),
                   "sections": len(a.sections()), "examples": len(a.examples),
                   "file": a.source} for a in agents])
    for a in agents:
        for remark in a.warnings:
            print(f"note: {a.source}: {remark}", file=sys.stderr)
    return 0


def _tasks(args: argparse.Namespace) -> list[Task]:
    from agentlab.agents._agent import load_agents
    from agentlab.tasks import load_tasks, select_tasks, tasks_from_examples

    tasks = load_tasks(*(args.tasks or [DEFAULT_TASKS]))
    if getattr(args, "examples", False):
        tasks += tasks_from_examples(*load_agents(args.agents or [DEFAULT_AGENTS]))
    return select_tasks(tasks, ids=args.task_id or (), tags=args.tag or ())


def cmd_tasks(args: argparse.Namespace) -> int:
    """List and validate task files."""
    tasks = _tasks(args)
    _print_table([{"id": t.id, "tags": ",".join(t.tags) or "-",
                   "context": t.context_name or ("inline" if t.context else "-"),
                   "checks": len(t.checks), "rubric": "yes" if t.rubric else "-",
                   "prompt": (t.prompt[:60] + "...") if len(t.prompt) > 60 else t.prompt}
                  for t in tasks])
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run variants × tasks and print a per-variant summary."""
    from agentlab._files import check_output_dir
    from agentlab.agents._agent import load_agents
    from agentlab.providers._registry import default_max_tokens, select_provider
    from agentlab.providers.base import GenerationOptions
    from agentlab.runs._runner import run
    from agentlab.stats import pick_baseline

    agents = load_agents(args.agents or [DEFAULT_AGENTS])
    if args.variant:
        agents = [a for a in agents if a.name in set(args.variant)]
    tasks = _tasks(args)
    if not agents or not tasks:
        raise AgentlabError("nothing to run: no variants or no tasks selected")
    provider = select_provider(args.provider, args.model)
    if args.out:
        check_output_dir(args.out, "--out")  # before any call: a bad folder costs nothing
    max_tokens = default_max_tokens(provider) if args.max_tokens is None else args.max_tokens
    options = GenerationOptions(max_tokens=max_tokens,
                                temperature=args.temperature, seed=args.seed)
    result = run(agents, tasks, repeats=args.repeats, model=args.model, provider=provider,
                 options=options, concurrency=args.concurrency, db=args.db,
                 refresh=args.refresh, budget_usd=args.budget, progress=not args.no_progress,
                 name=args.name, batch=args.batch, wait=not args.no_wait)
    if result.status.startswith("pending"):  # --batch --no-wait: submitted, not yet answered
        print(f"run {result.id}: {result.status}\nthe same command again re-attaches and "
              "waits for them; `agentlab batches` shows their progress")
        return 0
    df = result.to_dataframe()
    summary = result.summary()
    baseline = args.baseline or pick_baseline([a.name for a in agents])
    if args.score:
        from agentlab.scoring._score import score_dataframe
        from agentlab.stats import summary as stats_summary
        from agentlab.views.report import compact_summary

        df = score_dataframe(df, tasks=tasks)
        summary = compact_summary(stats_summary(df, baseline=baseline))
    print(summary.to_string())
    print(f"\nrun {result.id}: {result.status}; {len(result.results)} cells, "
          f"{result.errors} errors, {result.requests_sent} sent to {result.provider}; "
          f"results in {result.store_path}")
    if args.out:
        from agentlab.views.report import write_report

        files = write_report(df, args.out, baseline=baseline, run_id=result.id)
        print(f"wrote {len(files)} files to {args.out} (summary.md, results.csv, charts)")
    return 0 if result.errors == 0 and result.status == "complete" else 1


def cmd_batches(args: argparse.Namespace) -> int:
    """List a store's Message Batches, or cancel one."""
    from agentlab.runs._batch import cancel_batch, list_batches

    if args.cancel:
        print(f"batch {args.cancel}: {cancel_batch(args.cancel, args.db)}")
        return 0
    df = list_batches(args.db)
    print(df.to_string(index=False) if len(df) else f"no batches in {args.db}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """List stored runs."""
    from agentlab.runs._history import list_runs

    df = list_runs(args.db)
    print(df.to_string(index=False) if len(df) else f"no runs in {args.db}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export one run's results as CSV, JSONL or Parquet."""
    from agentlab._files import check_output_file
    from agentlab.errors import MissingDependencyError
    from agentlab.runs._history import open_run

    fmt = args.format or (Path(args.output).suffix.lstrip(".") if args.output else "csv")
    target = check_output_file(Path(args.output or f"{args.run}.{fmt}"), "-o")
    df = open_run(args.run, args.db).to_dataframe()
    if fmt == "csv":
        df.to_csv(target, index=False)
    elif fmt == "jsonl":
        df.to_json(target, orient="records", lines=True)
    elif fmt == "parquet":
        try:
            df.to_parquet(target, index=False)
        except ImportError as exc:
            raise MissingDependencyError("pyarrow") from exc
    else:
        raise AgentlabError(f"unknown export format {fmt!r}; use csv, jsonl or parquet")
    print(f"wrote {len(df)} rows to {target}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Score a stored run and print the statistics summary."""
    from agentlab.runs._history import open_run
    from agentlab.scoring._score import score_dataframe
    from agentlab.stats import pick_baseline, summary
    from agentlab.views.report import compact_summary

    stored = open_run(args.run, args.db)
    df = score_dataframe(stored.to_dataframe(), tasks=stored.tasks)
    baseline = args.baseline or pick_baseline([v.name for v in stored.variants])
    if args.judge:
        from agentlab.scoring.judge import judge

        df = judge(df, stored.tasks, judge_model=args.judge_model, db=args.db)
    table = summary(df, baseline=baseline)
    print(compact_summary(table).to_string())
    if args.judge:
        judged = summary(df, baseline=baseline, metric="judge_quality")
        print("\nLLM judge (quality = (score - 1) / 4):")
        print(compact_summary(judged.rename(columns=lambda c: c.replace("judge_quality",
                                                                          "quality"))).to_string())
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    """Estimate tokens and cost before a run."""
    from agentlab.agents._agent import load_agents
    from agentlab.runs._estimate import estimate_cost

    tasks = _tasks(args)
    rows = estimate_cost(load_agents(args.agents or [DEFAULT_AGENTS]), tasks,
                         repeats=args.repeats, model=args.model, output_tokens=args.output_tokens,
                         online=args.online, batch=args.batch)
    _print_table([{"variant": r.variant, "model": r.model, "calls": r.calls,
                   "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                   "cost_usd": "unknown" if r.cost_usd is None else f"{r.cost_usd:.4f}",
                   "method": r.method} for r in rows])
    return 0


def cmd_routing(args: argparse.Namespace) -> int:
    """Measure which subagent Claude Code delegates each query of an eval set to."""
    from agentlab.agentic import load_evalset, routing

    evalset = load_evalset(args.evalset).select(ids=args.query_id or (), tags=args.tag or ())
    run = routing(args.variants or [DEFAULT_ROUTING_AGENT], evalset, roster=args.roster or (),
                  repeats=args.repeats, target=args.target, max_tool_calls=args.max_tool_calls,
                  model=args.model, base_url=args.base_url, concurrency=args.concurrency,
                  db=args.db, refresh=args.refresh, progress=not args.no_progress,
                  name=args.name, sandbox=not args.no_sandbox, timeout_s=args.timeout)
    print(run.table().to_string())
    if not run.comparisons.empty:
        cols = ["baseline", "accuracy_diff", "ci_low", "ci_high", "p_value", "mcnemar_p",
                "verdict"]
        print("\n" + run.comparisons[cols].to_string(float_format=lambda v: f"{v:.3f}"))
    if args.rates:
        print("\n" + run.rates.to_string(index=False))
    print(f"\nrouting run {run.id}: {run.status}; {len(run.records)} trials, {run.errors} "
          f"errors, {run.sessions} Claude Code sessions started; results in {run.store_path}")
    if args.out:
        files = run.save(args.out)
        print(f"wrote {len(files)} files to {args.out} (decisions.csv, summary.csv, charts)")
    return 0 if run.errors == 0 and run.status == "complete" else 1


def cmd_trial(args: argparse.Namespace) -> int:
    """Run variants as Claude Code agents on task workspaces and grade what they did."""
    from agentlab.agentic import trial
    from agentlab.agentic._record import trial_summary
    from agentlab.agents._agent import load_agents
    from agentlab.scoring._score import score_dataframe
    from agentlab.stats import pick_baseline
    from agentlab.stats import summary as stats_summary
    from agentlab.views.report import compact_summary

    agents = load_agents(args.agents or [DEFAULT_AGENTS])
    if args.variant:
        agents = [a for a in agents if a.name in set(args.variant)]
    args.tasks = args.tasks or [DEFAULT_TRIAL_TASKS]
    tasks = _tasks(args)
    if not agents or not tasks:
        raise AgentlabError("nothing to run: no variants or no tasks selected")
    run = trial(agents, tasks, repeats=args.repeats, mode=args.mode,
                concurrency=args.concurrency, budget_usd=args.budget, model=args.model,
                db=args.db, refresh=args.refresh, progress=not args.no_progress,
                name=args.name, base_url=args.base_url, sandbox=args.sandbox)
    df = score_dataframe(run.to_dataframe(), tasks=tasks)
    baseline = args.baseline or pick_baseline([a.name for a in agents])
    print(trial_summary(df).to_string(float_format=lambda v: f"{v:.3f}"))
    print("\n" + compact_summary(stats_summary(df, baseline=baseline)).to_string())
    print(f"\ntrial run {run.id}: {run.status}; {len(run.results)} trials, {run.errors} "
          f"errors, {run.requests_sent} Claude Code sessions started; results in "
          f"{run.store_path}")
    if args.out:
        from agentlab.views.report import write_report

        files = write_report(df, args.out, baseline=baseline, run_id=run.id,
                             title="agentlab trial report")
        print(f"wrote {len(files)} files to {args.out} (summary.md, results.csv, charts)")
    return 0 if run.errors == 0 and run.status == "complete" else 1


def _selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agents", nargs="+", type=Path, help="agent files or folders")
    p.add_argument("--tasks", nargs="+", type=Path, help="task files (.yaml/.jsonl)")
    p.add_argument("--examples", action="store_true", help="add the agents' <example> tasks")
    p.add_argument("--task-id", action="append", help="only this task (repeatable)")
    p.add_argument("--tag", action="append", help="only tasks with this tag (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(prog="agentlab", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    db = {"default": Path(".agentlab/results.sqlite"), "type": Path,
          "help": "results database (default: .agentlab/results.sqlite)"}

    p = sub.add_parser("agents", help="validate and list agent files")
    p.add_argument("paths", nargs="*", type=Path)
    p.set_defaults(func=cmd_agents)

    p = sub.add_parser("tasks", help="validate and list tasks")
    _selection(p)
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("run", help="run variants on tasks")
    _selection(p)
    p.add_argument("--variant", action="append", help="only this variant name (repeatable)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--model", help="model for every cell (alias, id, or local:/path.gguf)")
    p.add_argument("--provider", help="anthropic or local (default: anthropic if a key is set)")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--max-tokens", type=int,
                   help="output room per answer (default: 2048 Claude, 768 local model)")
    p.add_argument("--temperature", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--budget", type=float, help="stop before spending more than this (USD)")
    p.add_argument("--refresh", action="store_true", help="ignore cached responses")
    p.add_argument("--batch", action="store_true",
                   help="send through the Message Batches API (half price, within 24 h)")
    p.add_argument("--no-wait", action="store_true",
                   help="with --batch: submit and return; run again to collect")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--score", action="store_true", help="grade responses and compare variants")
    p.add_argument("--name", help="a name stored with the run")
    p.add_argument("--baseline", help="variant the others are compared with (default: first)")
    p.add_argument("--out", type=Path,
                   help="write results.csv, summary.csv, summary.md and chart PNGs here")
    p.add_argument("--db", **db)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("estimate", help="estimate tokens and cost of a run")
    _selection(p)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--model")
    p.add_argument("--output-tokens", type=int, default=600)
    p.add_argument("--online", action="store_true", help="count tokens with the API")
    p.add_argument("--batch", action="store_true", help="price as a Message Batch (half)")
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("runs", help="list stored runs")
    p.add_argument("--db", **db)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("batches", help="list a store's Message Batches, or cancel one")
    p.add_argument("--cancel", metavar="ID", help="cancel this batch (a unique prefix is enough)")
    p.add_argument("--db", **db)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_batches)

    p = sub.add_parser("export", help="export a run's results")
    p.add_argument("run", help="run id (a unique prefix is enough) or name")
    p.add_argument("--format", choices=["csv", "jsonl", "parquet"])
    p.add_argument("-o", "--output")
    p.add_argument("--db", **db)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="score a run and compare variants with statistics")
    p.add_argument("run", help="run id (a unique prefix is enough) or name")
    p.add_argument("--baseline", help="baseline variant (default: the base the others extend)")
    p.add_argument("--judge", action="store_true", help="also grade with the LLM judge")
    p.add_argument("--judge-model", help="judge model (default: not the judged model)")
    p.add_argument("--db", **db)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("routing", help="does a description make Claude Code delegate to it?")
    p.add_argument("evalset", type=Path, help="eval set (.yaml, .json, .jsonl)")
    p.add_argument("--variants", nargs="+", type=Path,
                   help=f"agent files or folders to compare (default: {DEFAULT_ROUTING_AGENT})")
    p.add_argument("--roster", nargs="+", type=Path, help="distractor agent files or folders")
    p.add_argument("--target", help="name the variants are installed under (default: the eval "
                                    "set's 'agent:', else the base variant)")
    p.add_argument("--repeats", type=int, default=3, help="fresh sessions per query (3)")
    p.add_argument("--max-tool-calls", type=int, default=4,
                   help="tool calls allowed before the decision (4)")
    p.add_argument("--query-id", action="append", help="only this query (repeatable)")
    p.add_argument("--tag", action="append", help="only queries with this tag (repeatable)")
    p.add_argument("--model", help="model id for the main session (default: Claude Code's)")
    p.add_argument("--base-url", help="API address (default: ANTHROPIC_BASE_URL or the API)")
    p.add_argument("--concurrency", type=int, default=4, help="sessions at once (4)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per session (300)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run Bash without Claude Code's bubblewrap sandbox")
    p.add_argument("--refresh", action="store_true", help="ignore stored decisions")
    p.add_argument("--rates", action="store_true", help="also print the per-query rates")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--name", help="a name stored with the run")
    p.add_argument("--out", type=Path, help="write the tables (CSV) and charts (PNG) here")
    p.add_argument("--db", **db)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_routing)

    p = sub.add_parser("trial", help="run variants in Claude Code on task workspaces, grade "
                                     "the outcome and the behaviour")
    _selection(p)
    p.add_argument("--variant", action="append", help="only this variant name (repeatable)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--mode", choices=["as_main", "as_subagent"], default="as_main",
                   help="the variant is the system prompt (as_main) or a subagent")
    p.add_argument("--model", help="model for every trial (default: each variant's model:)")
    p.add_argument("--base-url", help="API address (default: ANTHROPIC_BASE_URL or the API)")
    p.add_argument("--concurrency", type=int, default=2, help="trials at once (2)")
    p.add_argument("--budget", type=float, help="stop before spending more than this (USD)")
    p.add_argument("--sandbox", choices=["on", "off"], default="on",
                   help="off: no bubblewrap at all (prints a warning)")
    p.add_argument("--refresh", action="store_true", help="ignore stored trials")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--name", help="a name stored with the run")
    p.add_argument("--baseline", help="variant the others are compared with")
    p.add_argument("--out", type=Path, help="write results, summary and charts (PNG) here")
    p.add_argument("--db", **db)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_trial)
    return parser


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str,
                      lineno: int, file: object = None, line: str | None = None) -> None:
    print(f"agentlab: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _os_error(exc: OSError | sqlite3.Error) -> str:
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or type(exc).__name__}"
    return f"results database error: {' '.join(str(exc).split())}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentlab`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s", stream=sys.stderr)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning  # one line, without a source line
            code: int = args.func(args)
    except AgentlabError as exc:
        print(f"agentlab: error: {exc}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as exc:  # a path the library did not check: still one line
        print(f"agentlab: error: {_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("agentlab: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
