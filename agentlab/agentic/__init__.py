"""Agentic trials: run a variant inside Claude Code on a sandboxed workspace, grade what it did.

A trial copies a task's ``workspace:`` folder, runs the variant in the real Claude Code
harness (the CLI bundled in ``claude-agent-sdk``) on the copy, and records the outcome and
the behaviour: the check command's result before and after, the unified diff, every tool
call in order, turns, tokens, cost and time. ``_harness`` runs one isolated session,
``_workspace`` copies, hashes and diffs folders, ``_check`` runs the check command under
bubblewrap, ``_record`` is what a trial stores, and ``_trial`` plans, caches, resumes and
stores trials as cells of a :class:`~agentlab.runs.Run`.
"""
