"""Agent variants: reading Claude Code subagent files and deriving new variants in code.

An :class:`Agent` is an immutable value built from a subagent file (YAML frontmatter, strict or
lenient, plus a Markdown body that is the system prompt) or derived from another agent by
editing its prompt, sections, description or model. ``_file`` reads and writes the file format,
``_sections`` finds ``<example>`` blocks and prompt sections, and ``_agent`` holds the value and
its derivations.
"""

from agentlab.agents._agent import (
    Agent,
    AgentFrontmatter,
    AgentNameWarning,
    UnknownFieldWarning,
    agent_from_file,
    load_agent,
    load_agents,
)
from agentlab.agents._file import KNOWN_FIELDS, ParseMode, dump_agent_text, read_agent_file
from agentlab.agents._sections import Example, Section, parse_examples, split_sections

__all__ = [
    "KNOWN_FIELDS",
    "Agent",
    "AgentFrontmatter",
    "AgentNameWarning",
    "Example",
    "ParseMode",
    "Section",
    "UnknownFieldWarning",
    "agent_from_file",
    "dump_agent_text",
    "load_agent",
    "load_agents",
    "parse_examples",
    "read_agent_file",
    "split_sections",
]
