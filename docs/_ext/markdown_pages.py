"""A Sphinx source parser for the project's Markdown pages (CommonMark plus tables).

The pages are written for GitHub and for this site alike: headings become sections, fenced and
indented code becomes literal blocks, tables become docutils tables, images are copied into the
site, and a link to another page (``families/markov.md#anchor``) becomes a link to its HTML page.
A link to a file the site does not contain is reported as a warning (an error in ``make docs``).
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from docutils import nodes
from docutils.parsers import Parser
from markdown_it import MarkdownIt
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    s = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return s.replace(" ", "-")


class MarkdownParser(Parser):
    supported = ("markdown", "md")

    def parse(self, inputstring: str, document: nodes.document) -> None:
        self.document = document
        md = MarkdownIt("commonmark").enable("table")
        tokens = md.parse(inputstring)
        self.env = document.settings.env
        self.docname = self.env.docname
        self.sections: list[tuple[int, nodes.Element]] = [(0, document)]
        self._build(tokens, 0, len(tokens), None)

    # -- block level ---------------------------------------------------------------------------
    def _parent(self) -> nodes.Element:
        return self.sections[-1][1]

    def _build(self, tokens: list, i: int, end: int, parent: nodes.Element | None) -> None:
        while i < end:
            tok = tokens[i]
            t = tok.type
            target = parent if parent is not None else self._parent()
            if t == "heading_open" and parent is None:
                level = int(tok.tag[1])
                title_text = tokens[i + 1].content
                while self.sections[-1][0] >= level:
                    self.sections.pop()
                section = nodes.section()
                section["ids"].append(_slug(title_text) or f"section-{i}")
                section["names"].append(nodes.fully_normalize_name(title_text))
                title = nodes.title()
                self._inline(tokens[i + 1].children or [], title)
                section += title
                self._parent().append(section)
                self.document.note_implicit_target(section, section)
                self.sections.append((level, section))
                i += 3
                continue
            if t == "heading_open":  # a heading inside a list or quote: bold paragraph
                p = nodes.paragraph()
                strong = nodes.strong()
                self._inline(tokens[i + 1].children or [], strong)
                p += strong
                target.append(p)
                i += 3
                continue
            if t == "paragraph_open":
                close = self._close(tokens, i)
                inline = tokens[i + 1]
                if self._only_image(inline):
                    for child in inline.children or []:
                        if child.type == "image":
                            target.append(self._image(child))
                else:
                    p = nodes.paragraph()
                    self._inline(inline.children or [], p)
                    target.append(p)
                i = close + 1
                continue
            if t in ("fence", "code_block"):
                lang = (tok.info or "").strip().split(" ")[0] if t == "fence" else ""
                block = nodes.literal_block(tok.content, tok.content)
                if lang in ("console", "bash", "python", "toml", "json"):
                    block["language"] = {"console": "console", "bash": "bash"}.get(lang, lang)
                else:
                    block["language"] = "text"
                target.append(block)
                i += 1
                continue
            if t in ("bullet_list_open", "ordered_list_open"):
                close = self._close(tokens, i)
                lst = nodes.bullet_list() if t == "bullet_list_open" else nodes.enumerated_list()
                if t == "bullet_list_open":
                    lst["bullet"] = "*"
                j = i + 1
                while j < close:
                    item_close = self._close(tokens, j)
                    item = nodes.list_item()
                    self._build(tokens, j + 1, item_close, item)
                    lst += item
                    j = item_close + 1
                target.append(lst)
                i = close + 1
                continue
            if t == "blockquote_open":
                close = self._close(tokens, i)
                quote = nodes.block_quote()
                self._build(tokens, i + 1, close, quote)
                target.append(quote)
                i = close + 1
                continue
            if t == "table_open":
                close = self._close(tokens, i)
                target.append(self._table(tokens, i, close))
                i = close + 1
                continue
            if t == "hr":
                target.append(nodes.transition())
                i += 1
                continue
            if t == "html_block":
                target.append(nodes.raw("", tok.content, format="html"))
                i += 1
                continue
            i += 1

    @staticmethod
    def _close(tokens: list, i: int) -> int:
        """Index of the token closing the one opened at ``i``."""
        depth = 0
        for j in range(i, len(tokens)):
            depth += tokens[j].nesting
            if depth == 0:
                return j
        return len(tokens) - 1

    @staticmethod
    def _only_image(inline: Any) -> bool:
        kids = [c for c in inline.children or []
                if not (c.type == "text" and not c.content.strip())]
        return bool(kids) and all(c.type in ("image", "softbreak") for c in kids)

    def _table(self, tokens: list, i: int, close: int) -> nodes.table:
        rows: list[tuple[bool, list[Any]]] = []
        head = False
        j = i
        while j < close:
            t = tokens[j].type
            if t == "thead_open":
                head = True
            elif t == "tbody_open":
                head = False
            elif t == "tr_open":
                rows.append((head, []))
            elif t in ("th_open", "td_open"):
                rows[-1][1].append(tokens[j + 1])
            j += 1
        ncols = max(len(cells) for _, cells in rows)
        table = nodes.table()
        group = nodes.tgroup(cols=ncols)
        table += group
        for _ in range(ncols):
            group += nodes.colspec(colwidth=1)
        thead = nodes.thead()
        tbody = nodes.tbody()
        for is_head, cells in rows:
            row = nodes.row()
            for inline in cells:
                entry = nodes.entry()
                p = nodes.paragraph()
                self._inline(inline.children or [], p)
                entry += p
                row += entry
            for _ in range(ncols - len(cells)):
                row += nodes.entry()
            (thead if is_head else tbody).append(row)
        if len(thead):
            group += thead
        group += tbody
        return table

    # -- inline level --------------------------------------------------------------------------
    def _inline(self, children: list, parent: nodes.Element) -> None:
        stack = [parent]
        for tok in children:
            t = tok.type
            top = stack[-1]
            if t == "text":
                top += nodes.Text(tok.content)
            elif t == "softbreak":
                top += nodes.Text(" ")
            elif t == "hardbreak":
                top += nodes.raw("", "<br/>", format="html")
            elif t == "code_inline":
                top += nodes.literal(tok.content, tok.content)
            elif t in ("strong_open", "em_open"):
                node = nodes.strong() if t == "strong_open" else nodes.emphasis()
                top += node
                stack.append(node)
            elif t in ("strong_close", "em_close", "link_close"):
                stack.pop()
            elif t == "link_open":
                node = nodes.reference(refuri=self._href(tok.attrs.get("href", "")))
                top += node
                stack.append(node)
            elif t == "image":
                top += self._image(tok)
            elif t == "html_inline":
                top += nodes.raw("", tok.content, format="html")

    def _image(self, tok: Any) -> nodes.image:
        src = tok.attrs.get("src", "")
        self._check_target(src)
        alt = "".join(c.content for c in tok.children or [])
        return nodes.image(uri=src, alt=alt)

    def _href(self, href: str) -> str:
        if re.match(r"^[a-z]+:", href) or href.startswith("#"):
            return href
        path, _, anchor = href.partition("#")
        if path.endswith(".md"):
            self._check_target(path)
            page = path[:-3]
            return page + ".html" + (f"#{anchor}" if anchor else "")
        self._check_target(path)
        return href

    def _check_target(self, rel: str) -> None:
        base = posixpath.dirname(self.docname)
        target = posixpath.normpath(posixpath.join(base, rel))
        if not (self.env.srcdir / target).exists():
            logger.warning("%s: link to %r, which the site does not contain", self.docname, rel,
                           location=self.docname)


def setup(app: Any) -> dict[str, Any]:
    app.add_source_suffix(".md", "markdown")
    app.add_source_parser(MarkdownParser)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
