"""Safe HTML for the notebook widgets: model responses, prompt diffs, comparison grids.

Model output is untrusted: a response may contain ``<script>``, event-handler
attributes or ``javascript:`` links, on purpose or by accident, and ipywidgets'
``HTML`` widget inserts its value into the page as is. So every piece of text that a
model or a user wrote goes through here:

- Markdown is rendered by mistune 3 with raw HTML escaped (shown as text);
- links keep only ``http``, ``https`` and ``mailto`` targets; any other link becomes
  its plain text, and images are never loaded (shown as ``[image: alt]``);
- the rendered HTML is checked against an allowlist of tags and attributes
  (:func:`is_safe_html`) and, if anything unexpected got through, the response is
  shown as escaped plain text instead.
"""

from __future__ import annotations

import base64
import difflib
import html
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from mistune import Markdown

__all__ = [
    "STYLE",
    "Column",
    "GridRow",
    "comparison_html",
    "diff_html",
    "figures_html",
    "is_safe_html",
    "message_html",
    "response_card",
    "response_html",
    "summary_html",
]

MessageKind = Literal["info", "ok", "warn", "error"]

_TAGS = frozenset({
    "p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "span", "table", "thead", "tbody", "tr", "th",
    "td",
})
_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_LANG = re.compile(r"^[A-Za-z0-9_+#.-]{1,32}$")
_ALIGN = re.compile(r"^text-align:(left|right|center)$")
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def _safe_url(url: str) -> bool:
    # Browsers drop ASCII whitespace and control characters inside a scheme
    # ("java\tscript:"), so compare after removing them, as they would.
    plain = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(url)).lower()
    scheme = plain.split("/", 1)[0]
    return plain.startswith(_SAFE_SCHEMES) or ":" not in scheme


def _attr_ok(tag: str, name: str, value: str) -> bool:
    if name == "href":
        return tag == "a" and _safe_url(value)
    if name in ("title", "start"):
        return True
    if name == "target":
        return value == "_blank"
    if name == "rel":
        return set(value.split()) <= {"noopener", "noreferrer", "nofollow"}
    if name == "class":
        return tag == "code" and value.startswith("language-") and bool(_LANG.match(value[9:]))
    if name == "style":
        return tag in ("th", "td") and bool(_ALIGN.match(value.replace(" ", "")))
    return False


class _Checker(HTMLParser):
    """Walks rendered HTML and notes anything outside the allowlist."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.bad.append(f"<{tag}>")
        self.bad.extend(f"{tag}[{n}]" for n, v in attrs if not _attr_ok(tag, n, v or ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        self.bad.append("<!--")

    def handle_decl(self, decl: str) -> None:
        self.bad.append("<!")

    def handle_pi(self, data: str) -> None:
        self.bad.append("<?")

    def unknown_decl(self, data: str) -> None:
        self.bad.append("<![")


def is_safe_html(markup: str) -> bool:
    """Whether rendered response HTML uses only the allowed tags and attributes.

    Allowed: text formatting, lists, headings, tables, code blocks, and links to
    ``http``/``https``/``mailto`` (or relative) targets. Not allowed: any other tag
    (``script``, ``img``, ``iframe``, ``style``...), event-handler or unknown
    attributes, comments and declarations.

    Args:
        markup: HTML produced by :func:`response_html`'s Markdown renderer.

    Returns:
        ``True`` when nothing outside the allowlist was found.
    """
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    return not checker.bad


@lru_cache(maxsize=1)
def _markdown() -> Markdown:
    import mistune
    from mistune.renderers.html import HTMLRenderer

    class SafeRenderer(HTMLRenderer):
        """mistune's renderer with raw HTML escaped, links limited, images not loaded."""

        SAFE_PROTOCOLS = _SAFE_SCHEMES
        GOOD_DATA_PROTOCOLS = ()  # no data: URLs at all, images included

        def link(self, text: str, url: str, title: str | None = None) -> str:
            if self.sanitize_url(url) != url or not _safe_url(url):
                return text  # an unsafe target: keep the words, drop the link
            attrs: dict[str, object] = {"href": url, "target": "_blank",
                                        "rel": "noopener noreferrer nofollow", "title": title}
            return "<a" + self.render_attrs(attrs) + ">" + text + "</a>"

        def image(self, text: str, url: str, title: str | None = None) -> str:
            # Loading a model-chosen URL would leak the viewer's address to it.
            return "<span>[image: " + text + "]</span>"

        def block_code(self, code: str, info: str | None = None) -> str:
            lang = (info or "").strip().split(None, 1)[0] if (info or "").strip() else ""
            cls = f' class="language-{lang}"' if _LANG.match(lang) else ""
            return f"<pre><code{cls}>{html.escape(code, quote=False)}</code></pre>\n"

    return mistune.create_markdown(escape=True, renderer=SafeRenderer(escape=True),
                                   plugins=["strikethrough", "table"])


def response_html(text: str) -> str:
    """Render a model's Markdown response as safe HTML.

    Raw HTML in the response is shown as text, fenced code goes into
    ``<pre><code>`` with its content escaped, and only ``http``/``https``/``mailto``
    links stay links.

    Args:
        text: The response, as the model wrote it.

    Returns:
        HTML that passes :func:`is_safe_html`; if the renderer ever produced
        something else, the whole response as escaped preformatted text.
    """
    rendered = str(_markdown()(text))
    if is_safe_html(rendered):
        return rendered
    return f'<pre class="al-raw">{html.escape(text)}</pre>'


def _word_diff(old: str, new: str) -> tuple[str, str]:
    """The two lines, escaped, with changed words wrapped in ``<del>`` / ``<ins>``."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < 0.3:  # mostly rewritten: word marks would only add noise
        return html.escape(old), html.escape(new)
    left: list[str] = []
    right: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        x, y = html.escape("".join(a[i1:i2])), html.escape("".join(b[j1:j2]))
        if tag == "equal":
            left.append(x)
            right.append(y)
            continue
        if x:
            left.append(f"<del>{x}</del>")
        if y:
            right.append(f"<ins>{y}</ins>")
    return "".join(left), "".join(right)


def _diff_line(kind: str, sign: str, number: int, body: str) -> str:
    return (f'<div class="al-dl al-{kind}"><span class="al-ln">{number}</span>'
            f'<span class="al-sign">{sign}</span>{body or " "}</div>')


def _hunk(group: Sequence[tuple[str, int, int, int, int]], a: list[str],
          b: list[str]) -> list[str]:
    first, last = group[0], group[-1]
    out = [f'<div class="al-hunk">lines {first[3] + 1}–{last[4]} of the edited prompt</div>']
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            out += [_diff_line("ctx", " ", j1 + k + 1, html.escape(a[i1 + k]))
                    for k in range(i2 - i1)]
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        marked = [_word_diff(a[i1 + k], b[j1 + k]) for k in range(pairs)]
        olds = [m[0] for m in marked] + [html.escape(x) for x in a[i1 + pairs:i2]]
        news = [m[1] for m in marked] + [html.escape(y) for y in b[j1 + pairs:j2]]
        out += [_diff_line("del", "−", i1 + k + 1, s) for k, s in enumerate(olds)]
        out += [_diff_line("add", "+", j1 + k + 1, s) for k, s in enumerate(news)]
    return out


def diff_html(a: str, b: str, *, from_name: str = "base", to_name: str = "edited",
              context: int = 3) -> str:
    """A readable, escaped unified diff of two prompts, changed words marked.

    Args:
        a: The original text.
        b: The edited text.
        from_name: Label of ``a``.
        to_name: Label of ``b``.
        context: Unchanged lines shown around each change.

    Returns:
        An HTML fragment: a one-line summary, then each changed region with removed
        lines (−, old line numbers) and added lines (+, new line numbers).
    """
    a_lines, b_lines = a.splitlines(), b.splitlines()
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    names = f"{html.escape(to_name)} vs {html.escape(from_name)}"
    groups = list(matcher.get_grouped_opcodes(context))
    if not groups:
        return f'<div class="al-diff"><div class="al-dsum">{names}: no changes</div></div>'
    ops = matcher.get_opcodes()
    removed = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag != "equal")
    added = sum(j2 - j1 for tag, _, _, j1, j2 in ops if tag != "equal")
    out = [f'<div class="al-diff"><div class="al-dsum">{names}: '
           f'<span class="al-plus">+{added}</span> <span class="al-minus">−{removed}</span> '
           "lines</div>"]
    for group in groups:
        out += _hunk(group, a_lines, b_lines)
    return "".join(out) + "</div>"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value)  # type: ignore[arg-type]  # numpy scalars
        except (TypeError, ValueError):
            return None
    return None if math.isnan(value) else float(value)


def _flag(value: object) -> bool | None:
    if value is None or value is True or value is False:
        return value
    import pandas as pd

    return None if pd.isna(value) else bool(value)  # type: ignore[call-overload]


def _chip(text: str, kind: str = "", title: str = "") -> str:
    tip = f' title="{html.escape(title)}"' if title else ""
    return f'<span class="al-chip {kind}"{tip}>{html.escape(text)}</span>'


def _card_chips(row: Mapping[str, Any], caption: str) -> list[str]:
    chips = [_chip(caption, "al-cap")] if caption else []
    quality, passed = _number(row.get("quality")), _flag(row.get("passed"))
    if quality is not None:
        verdict = {True: " pass", False: " fail", None: ""}[passed]
        kind = {True: "al-pass", False: "al-fail", None: ""}[passed]
        chips.append(_chip(f"quality {quality:.2f}{verdict}", kind))
    for key in ("words", "output_tokens"):
        value = _number(row.get(key))
        if value is not None:
            chips.append(_chip(f"{value:.0f} {'words' if key == 'words' else 'tokens'}"))
    stop = row.get("stop_reason")
    if isinstance(stop, str) and stop not in ("end_turn", ""):
        chips.append(_chip(f"stop: {stop}", "al-warnchip"))
    if _flag(row.get("cached")):
        chips.append(_chip("cached", "al-dim", "served from the results cache"))
    return chips


def _grader_chips(row: Mapping[str, Any]) -> str:
    chips = [_chip(f"{key[6:]} {score:.2f}", "al-dim")
             for key in row if isinstance(key, str) and key.startswith("score_")
             if (score := _number(row[key])) is not None]
    return f'<div class="al-chips">{"".join(chips)}</div>' if chips else ""


def response_card(row: Mapping[str, Any], *, caption: str = "") -> str:
    """One response with its scores and lengths, for a comparison grid.

    Args:
        row: A results row (a mapping such as a DataFrame row): ``text``, ``error``,
            and when present ``quality``, ``passed``, ``score_*``, ``words``,
            ``output_tokens``, ``stop_reason``, ``cached``, ``grade_reasons``.
        caption: A short label shown first, e.g. ``"repeat 2"``.

    Returns:
        An HTML fragment; all text in it is escaped.
    """
    head = f'<div class="al-chips">{"".join(_card_chips(row, caption))}</div>'
    error = row.get("error")
    if isinstance(error, str) and error:
        kind = row.get("error_kind")
        label = f"error ({kind})" if isinstance(kind, str) and kind else "error"
        body = f'<div class="al-err">{html.escape(label)}: {html.escape(error)}</div>'
    else:
        text = row.get("text")
        body = response_html(text) if isinstance(text, str) and text.strip() else (
            '<div class="al-dimtext">(empty response)</div>')
    reasons = row.get("grade_reasons")
    details = (f'<details><summary>grader reasons</summary><div class="al-reasons">'
               f"{html.escape(reasons)}</div></details>") if isinstance(reasons, str) else ""
    return (f'<div class="al-card">{head}{_grader_chips(row)}'
            f'<div class="al-md">{body}</div>{details}</div>')


class Column(NamedTuple):
    """A column of a comparison grid: a variant's name and a note under it."""

    title: str
    note: str = ""
    color: str = "#888888"


class GridRow(NamedTuple):
    """A row of a comparison grid: a label, a note, and one HTML cell per column."""

    label: str
    note: str
    cells: Sequence[str]


def comparison_html(columns: Sequence[Column], rows: Iterable[GridRow], *,
                    empty: str = "Nothing to show.") -> str:
    """Responses side by side: one column per variant, one row per task or repeat.

    Args:
        columns: Column headings (escaped here).
        rows: Rows; labels and notes are escaped here, cells must already be safe
            HTML (from :func:`response_card`).
        empty: Text shown when there are no rows.

    Returns:
        A self-contained HTML fragment (styles included).
    """
    cols = f"repeat({len(columns)}, minmax(0, 1fr))"
    out = [f'{STYLE}<div class="al-root"><div class="al-grid" style="grid-template-columns:'
           f' {cols}">']
    out += [f'<div class="al-colhead" style="border-top-color: {html.escape(c.color)}">'
            f"<b>{html.escape(c.title)}</b><div class=\"al-dimtext\">{html.escape(c.note)}"
            "</div></div>" for c in columns]
    count = 0
    for row in rows:
        count += 1
        out.append(f'<div class="al-rowhead"><b>{html.escape(row.label)}</b> '
                   f'<span class="al-dimtext">{html.escape(row.note)}</span></div>')
        out += [f'<div class="al-cell">{cell}</div>' for cell in row.cells]
    if not count:
        out.append(f'<div class="al-rowhead">{html.escape(empty)}</div>')
    return "".join(out) + "</div></div>"


def _fmt(value: object, digits: int) -> str:
    number = _number(value)
    return "–" if number is None else f"{number:.{digits}f}"


def _interval(mean: object, low: object, high: object, digits: int) -> str:
    if _number(low) is None or _number(high) is None:
        return _fmt(mean, digits)
    return f"{_fmt(mean, digits)} [{_fmt(low, digits)}, {_fmt(high, digits)}]"


def summary_html(table: pd.DataFrame) -> str:
    """A ``stats.summary`` table as compact, escaped HTML (intervals as ``[low, high]``).

    Args:
        table: The per-variant summary from :func:`agentlab.stats.summary`.

    Returns:
        An HTML table; every cell is escaped.
    """
    shown = table.copy()
    for col in list(table.columns):
        low, high = f"{col}_ci_low", f"{col}_ci_high"
        if low in table.columns and high in table.columns:
            digits = 2 if col in ("quality", "diff") else 0
            shown[col] = [_interval(m, lo, hi, digits)
                          for m, lo, hi in zip(table[col], table[low], table[high], strict=True)]
            shown = shown.drop(columns=[low, high])
    if "pass_rate" in shown:
        shown["pass_rate"] = [f"{p:.0%}" if (p := _number(v)) is not None else "–"
                              for v in shown["pass_rate"]]
    if "cost_usd" in shown:
        shown["cost_usd"] = [f"${c:.4f}" if (c := _number(v)) is not None else "–"
                             for v in shown["cost_usd"]]
    if "p_value" in shown:
        shown["p_value"] = [_fmt(v, 3) for v in shown["p_value"]]
    body = shown.to_html(escape=True, na_rep="–", border=0, classes="al-table")
    return f'{STYLE}<div class="al-root">{body}</div>'


def figures_html(figs: Mapping[str, Figure], *, dpi: int = 80) -> str:
    """Matplotlib figures as inline PNG images, two to a row where they fit.

    Args:
        figs: Figures keyed by name (e.g. from :func:`agentlab.views.charts.all_charts`).
        dpi: Resolution of the images.

    Returns:
        An HTML fragment with one ``<img>`` (a ``data:`` URL made here) per figure.
    """
    images = []
    for name, fig in figs.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        images.append(f'<img class="al-fig" alt="{html.escape(name)}" '
                      f'src="data:image/png;base64,{data}"/>')
    return f'{STYLE}<div class="al-root al-figs">{"".join(images)}</div>'


def message_html(text: str, kind: MessageKind = "info") -> str:
    """A one-line status message (escaped; newlines folded into spaces).

    Args:
        text: The message.
        kind: ``info``, ``ok``, ``warn`` or ``error`` (sets the colour).

    Returns:
        An HTML fragment.
    """
    line = " ".join(text.split())
    return (f'{STYLE}<div class="al-root"><div class="al-msg al-{kind}">{html.escape(line)}'
            "</div></div>")


STYLE = """<style>
.al-root{font-size:13px;line-height:1.45;color:var(--jp-content-font-color1,#1a1a1a)}
.al-grid{display:grid;gap:8px 12px;align-items:start}
.al-colhead{border-top:4px solid;padding:4px 6px;background:var(--jp-layout-color2,#f3f3f3)}
.al-rowhead{grid-column:1/-1;margin-top:10px;padding:3px 6px;
  border-bottom:1px solid var(--jp-border-color2,#ccc)}
.al-cell{min-width:0}
.al-card{border:1px solid var(--jp-border-color2,#ddd);border-radius:4px;padding:6px 8px;
  margin-bottom:6px;background:var(--jp-layout-color1,#fff)}
.al-md{max-height:34em;overflow:auto;overflow-wrap:anywhere}
.al-md pre,.al-raw{background:var(--jp-layout-color2,#f6f6f6);padding:6px;font-size:12px;
  white-space:pre-wrap;overflow-wrap:anywhere}
.al-md code{font-size:12px}
.al-md h1,.al-md h2,.al-md h3,.al-md h4{font-size:1.1em;margin:.5em 0 .3em}
.al-md table{border-collapse:collapse}.al-md td,.al-md th{border:1px solid #ccc;padding:2px 5px}
.al-chips{display:flex;flex-wrap:wrap;gap:4px;margin-bottom:4px}
.al-chip{font-size:11px;padding:0 6px;border-radius:9px;background:var(--jp-layout-color3,#e8e8e8)}
.al-pass{background:#c8efd0;color:#14532d}.al-fail{background:#f9d0d0;color:#7f1d1d}
.al-warnchip{background:#fbe7b5;color:#6b4500}.al-cap{font-weight:bold}
.al-dim{opacity:.8}.al-dimtext{opacity:.7;font-size:12px}
.al-err{color:#b91c1c;font-family:monospace;white-space:pre-wrap}
.al-reasons{font-size:12px;white-space:pre-wrap}
.al-diff{font-family:var(--jp-code-font-family,monospace);font-size:12px;max-height:22em;
  overflow:auto;border:1px solid var(--jp-border-color2,#ddd)}
.al-dsum{padding:3px 6px;background:var(--jp-layout-color2,#f3f3f3);font-weight:bold}
.al-hunk{padding:2px 6px;color:#555;background:#eef3fb;border-top:1px solid #d5deeb}
.al-dl{white-space:pre-wrap;overflow-wrap:anywhere;padding:0 6px}
.al-ln{display:inline-block;width:3em;color:#888;text-align:right;margin-right:6px}
.al-sign{display:inline-block;width:1.2em}
.al-add{background:#e6ffec}.al-del{background:#ffebe9}
.al-add ins{background:#abf2bc;text-decoration:none}
.al-del del{background:#ffc1c0;text-decoration:line-through}
.al-plus{color:#1a7f37}.al-minus{color:#cf222e}
.al-table{border-collapse:collapse;font-size:12px}
.al-table td,.al-table th{padding:3px 8px;text-align:right;white-space:nowrap;
  border-bottom:1px solid var(--jp-border-color2,#ddd)}
.al-figs{display:flex;flex-wrap:wrap;gap:10px}.al-fig{max-width:100%}
.al-msg{padding:3px 8px;border-left:4px solid #888}
.al-info{border-color:#3b82f6}.al-ok{border-color:#16a34a}
.al-warn{border-color:#d97706}.al-error{border-color:#dc2626;color:#b91c1c}
</style>"""
