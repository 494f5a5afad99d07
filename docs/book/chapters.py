"""The chapters of the workbook as the book pages see them: each README, its title and its headers' C items.

docs/pages.py calls load_chapters and shared_items once, before it writes any page; every other module of the
package works on the Chapter and Item values they return.
"""

import glob
import os
import re
from dataclasses import dataclass, field
from typing import List

from . import ROOT
from .headers import Item, header_items

CHAPTERS = os.path.join(ROOT, "chapters")


@dataclass
class Chapter:
    """One chapter folder: its README and the C items of its headers."""
    folder: str          # 01-ownership-buffers
    number: str          # 01
    title: str           # Chapter 01 — Ownership-style buffers
    readme: str          # the README's text
    items: List[Item] = field(default_factory=list)

    @property
    def label(self):
        return f"chapter_{self.number}"

    @property
    def short(self):
        """01 — Ownership-style buffers"""
        return re.sub(r"^Chapter\s+", "", self.title)


def shared_items():
    """The @rust items of the headers every chapter includes (chapters/include)."""
    items = []
    for header in sorted(glob.glob(os.path.join(CHAPTERS, "include", "*.h"))):
        items += header_items(header, len(items))
    return items


def load_chapters():
    """Every chapter folder with a README, in chapter order, each with the items of its headers."""
    chapters = []
    for readme in sorted(glob.glob(os.path.join(CHAPTERS, "[0-9][0-9]-*", "README.md"))):
        folder = os.path.basename(os.path.dirname(readme))
        with open(readme, encoding="utf-8") as text:
            body = text.read()
        first = body.split("\n", 1)[0]
        title = first.lstrip("#").strip() if first.startswith("# ") else f"Chapter {folder[:2]}"
        chapter = Chapter(folder, folder[:2], title.replace("`", ""), body)
        for header in sorted(glob.glob(os.path.join(CHAPTERS, folder, "*.h"))):
            if os.path.basename(header).startswith("demo_"):
                continue  # a demo's own header, not the chapter's contract
            chapter.items += header_items(header, len(chapter.items))
        chapters.append(chapter)
    return chapters
