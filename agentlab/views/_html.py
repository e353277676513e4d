"""Safe HTML for the notebook widgets: model responses, prompt diffs, comparison grids.

Model output is untrusted: a response may contain ``<script>``, event-handler
attributes or ``javascript:`` links, on purpose or by accident, and ipywidgets'
``HTML`` widget inserts its value into the page as is. So every piece of text that a
model or a user wrote goes through here:

- Markdown is rendered by mistune 3 with raw HTML escaped (shown as text);
- links keep only ``http``, ``https`` and ``mailto`` targets; any other link becomes
  its plain text, and images are never loaded (shown as ``[image: alt]``);
- prompt diffs (:func:`diff_html`, from :mod:`agentlab.views._diff`) escape every line;
- the rendered HTML is checked against an allowlist of tags and attributes
  (:func:`is_safe_html`) and, if anything unexpected got through, the response is
  shown as escaped plain text instead.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from agentlab.views._diff import diff_html

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
    "repeats_card",
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


def _check_label(key: str, labels: Mapping[str, str] | None) -> str:
    """A grader column's readable name, e.g. ``contains: Depends(get_session)``."""
    label = (labels or {}).get(key) or key.removeprefix("score_").replace("_", " ")
    return label if len(label) <= 48 else label[:47] + "…"


def _grader_chips(row: Mapping[str, Any], labels: Mapping[str, str] | None) -> str:
    chips = [_chip(f"{_check_label(key, labels)} {score:.2f}", "al-dim", key)
             for key in row if isinstance(key, str) and key.startswith("score_")
             if (score := _number(row[key])) is not None]
    return f'<div class="al-chips">{"".join(chips)}</div>' if chips else ""


def response_card(row: Mapping[str, Any], *, caption: str = "",
                  labels: Mapping[str, str] | None = None) -> str:
    """One response with its scores and lengths, for a comparison grid.

    Args:
        row: A results row (a mapping such as a DataFrame row): ``text``, ``error``,
            and when present ``quality``, ``passed``, ``score_*``, ``words``,
            ``output_tokens``, ``stop_reason``, ``cached``, ``grade_reasons``.
        caption: A short label shown first, e.g. ``"repeat 2"``.
        labels: Readable names of the ``score_*`` columns (from
            :func:`agentlab.scoring.check_labels`); the column name otherwise.

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
    trial = row.get("trial")  # an agentic trial: its transcript, diff and check output
    if isinstance(trial, str) and trial:
        from agentlab.views._trial_html import trial_html

        details += trial_html(trial)
    return (f'<div class="al-card">{head}{_grader_chips(row, labels)}'
            f'<div class="al-md">{body}</div>{details}</div>')


def _spread(values: Sequence[float], digits: int) -> str:
    """Mean and range, e.g. ``0.62 (0.40–0.90)``; one value alone when they agree."""
    low, high, mean = min(values), max(values), sum(values) / len(values)
    if high - low < 10 ** -digits:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def _numbers(rows: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    return [x for r in rows if (x := _number(r.get(key))) is not None]


def _outcome_dots(rows: Sequence[Mapping[str, Any]]) -> str:
    """One square per repeat: green passed, red failed, grey unscored, outlined error."""
    dots = []
    for n, row in enumerate(rows, start=1):
        error, passed, quality = row.get("error"), _flag(row.get("passed")), _number(
            row.get("quality"))
        kind = ("al-dot-err" if isinstance(error, str) and error else
                {True: "al-dot-pass", False: "al-dot-fail", None: ""}[passed])
        tip = f"repeat {n}: " + ("error" if kind == "al-dot-err" else
                                 f"quality {quality:.2f}" if quality is not None else "unscored")
        dots.append(f'<span class="al-dot {kind}" title="{html.escape(tip)}"></span>')
    return f'<span class="al-dots">{"".join(dots)}</span>'


def repeats_card(rows: Sequence[Mapping[str, Any]], *,
                 labels: Mapping[str, str] | None = None, expected: int = 0) -> str:
    """One variant's repeats of one task: their spread, with every answer folded under it.

    Args:
        rows: The repeats' results rows, in repeat order (as for :func:`response_card`).
        labels: Readable names of the ``score_*`` columns.
        expected: Repeats the run asked for; more than ``len(rows)`` (a stopped run)
            shows as "1 of 3 repeats".

    Returns:
        An HTML fragment: chips with the count, pass count, quality and length spread and
        errors, the mean of each check, then a ``<details>`` holding one card per repeat.
    """
    ok = [r for r in rows if not (isinstance(r.get("error"), str) and r.get("error"))]
    count = f"{len(rows)} of {expected}" if expected > len(rows) else str(len(rows))
    chips = [_chip(f"{count} repeats", "al-cap")]
    verdicts = [f for r in ok if (f := _flag(r.get("passed"))) is not None]
    if verdicts:
        passed = sum(verdicts)
        kind = "al-pass" if passed == len(verdicts) else "al-fail" if not passed else ""
        chips.append(_chip(f"passed {passed}/{len(verdicts)}", kind))
    for key, what, digits in (("quality", "quality", 2), ("words", "words", 0),
                              ("output_tokens", "tokens", 0)):
        values = _numbers(ok, key)
        if values:
            chips.append(_chip(f"{what} {_spread(values, digits)}", "",
                               "mean (lowest–highest) over the repeats"))
    if len(ok) < len(rows):
        chips.append(_chip(f"{len(rows) - len(ok)} errors", "al-fail"))
    scores = {}
    for key in dict.fromkeys(k for r in ok for k in r if isinstance(k, str)
                             and k.startswith("score_")):
        values = _numbers(ok, key)
        if values:
            scores[key] = sum(values) / len(values)
    checks = _grader_chips(scores, labels).replace('<div class="al-chips">',
                                                   '<div class="al-chips" title="mean score">')
    answers = "".join(response_card(r, caption=f"repeat {n}", labels=labels)
                      for n, r in enumerate(rows, start=1))
    return (f'<div class="al-card al-group"><div class="al-chips">{"".join(chips)}'
            f"{_outcome_dots(rows)}</div>{checks}<details><summary>show the "
            f"{_answers(len(rows))}</summary>{answers}</details></div>")


def _answers(n: int) -> str:
    return "answer" if n == 1 else f"{n} answers"


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
    from agentlab.scoring.metrics import get_metric

    # The sentence per variant is for reports; the method is in the note's wording.
    shown = table.drop(columns=[c for c in ("verdict_text", "method") if c in table.columns])
    for col in list(table.columns):
        low, high = f"{col}_ci_low", f"{col}_ci_high"
        if low in table.columns and high in table.columns:
            digits = 2 if col == "diff" or get_metric(col).unit_interval else 0
            shown[col] = [_interval(m, lo, hi, digits)
                          for m, lo, hi in zip(table[col], table[low], table[high], strict=True)]
            shown = shown.drop(columns=[low, high])
    if "pass_rate" in shown:
        shown["pass_rate"] = [f"{p:.0%}" if (p := _number(v)) is not None else "–"
                              for v in shown["pass_rate"]]
    if "cost_usd" in shown:
        shown["cost_usd"] = [f"${c:.4f}" if (c := _number(v)) is not None else "–"
                             for v in shown["cost_usd"]]
    for col in ("p_value", "p_adjusted", "mean_paired", "base_mean_paired"):
        if col in shown:
            shown[col] = [_fmt(v, 3) for v in shown[col]]
    shown = shown.rename(columns=_header)
    body = shown.to_html(escape=True, na_rep="–", border=0, classes="al-table")
    note = ('<div class="al-dimtext">[low, high]: 95% confidence interval over tasks · '
            "Δ: mean paired difference from the baseline, over the tasks both answered · "
            "p: its p-value; p (Holm): adjusted across the variants, as the verdict uses</div>")
    return f'{STYLE}<div class="al-root">{body}{note}</div>'


_HEADERS = {"n": "answers", "errors": "errors", "pass_rate": "pass rate", "diff": "Δ vs baseline",
            "p_value": "p", "verdict": "verdict", "provider": "provider",
            "n_paired": "tasks paired", "n_dropped": "tasks dropped",
            "mean_paired": "mean (paired)", "base_mean_paired": "baseline mean (paired)",
            "p_adjusted": "p (Holm)"}


def _header(column: str) -> str:
    """A summary column's heading in plain words: "output tokens", "cost ($)", "p"."""
    from agentlab.scoring.metrics import get_metric

    if column in _HEADERS:
        return _HEADERS[column]
    metric = get_metric(column)
    return f"{metric.label} ($)" if metric.unit == "USD" else metric.label


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
.al-group{background:var(--jp-layout-color2,#fafafa)}
.al-group details{margin-top:4px}.al-group summary{cursor:pointer;font-size:12px;color:#2563eb}
.al-dots{display:inline-flex;gap:2px;align-items:center;margin-left:4px}
.al-dot{width:9px;height:9px;border-radius:2px;background:#bbb}
.al-dot-pass{background:#16a34a}.al-dot-fail{background:#dc2626}
.al-dot-err{background:#fff;border:1px solid #dc2626;width:7px;height:7px}
.al-stale{padding:3px 8px;background:#fff4d6;border-left:4px solid #d97706;color:#6b4500}
.al-msg{padding:3px 8px;border-left:4px solid #888}
.al-info{border-color:#3b82f6}.al-ok{border-color:#16a34a}
.al-warn{border-color:#d97706}.al-error{border-color:#dc2626;color:#b91c1c}
</style>"""
