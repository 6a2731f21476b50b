"""Rendering time of "the source as printed" (``assistant.pages``) on the corpus PDFs.

    .venv/bin/python bench/pages.py [--pages 20] [--corpus corpus]

For every PDF in the corpus, ``--pages`` pages spread over the document are rendered cold
(cache cleared) with a quote of that page highlighted (a sentence taken from pypdf's text of
the page, as a citation would carry), then once more warm (from the cache). Prints p50/p95/max
in milliseconds, the share of quotes found on their page, and the PNG size. Also times
``section_view`` (load + clean + section) on the text documents, cold and warm.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.chunks import Chunk  # noqa: E402
from assistant.dutch.sentences import split_sentences  # noqa: E402
from assistant.pages import _clean_pages, _render_cached, render_pdf_page, section_view  # noqa: E402


def _ms(values: list[float]) -> str:
    values = sorted(v * 1000 for v in values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return f"p50 {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, max {values[-1]:.0f} ms"


def _quote(text: str) -> str:
    """A sentence of 6-30 words from the page text, as a citation would quote it."""
    flat = " ".join(text.split())
    for sentence in split_sentences(flat):
        if 6 <= len(sentence.split()) <= 30:
            return sentence
    return " ".join(flat.split()[:12])


def bench_pdfs(corpus: Path, per_doc: int) -> None:
    from pypdf import PdfReader

    cold: list[float] = []
    warm: list[float] = []
    found = total = size = 0
    for path in sorted(corpus.glob("*.pdf")):
        reader = PdfReader(path)
        n = len(reader.pages)
        numbers = sorted({1 + round(i * (n - 1) / max(1, per_doc - 1)) for i in range(per_doc)})
        for page in numbers:
            quote = _quote(reader.pages[page - 1].extract_text() or "")
            _render_cached.cache_clear()
            t0 = time.perf_counter()
            image = render_pdf_page(path, page, (quote,))
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            render_pdf_page(path, page, (quote,))
            warm.append(time.perf_counter() - t0)
            total += 1
            found += image.found
            size += len(image.png)
    print(f"PDF pages rendered: {total} from {len(list(corpus.glob('*.pdf')))} documents")
    print(f"  cold (render + highlight + PNG): {_ms(cold)}")
    print(f"  warm (cache):                    {_ms(warm)}")
    print(f"  quote found on its page: {found}/{total}; PNG {size / max(1, total) / 1024:.0f} KB")


def bench_sections(corpus: Path) -> None:
    cold: list[float] = []
    warm: list[float] = []
    for path in sorted(p for p in corpus.iterdir() if p.suffix in (".txt", ".md", ".html")):
        text = path.read_text(encoding="utf-8")
        middle = len(text) // 2
        chunk = Chunk(
            id="x:1:0", text=text[middle : middle + 400], source=path.name, page=1, index=0
        )
        _clean_pages.cache_clear()
        t0 = time.perf_counter()
        section_view(path, chunk)
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        section_view(path, chunk)
        warm.append(time.perf_counter() - t0)
    if cold:
        print(f"Sections of {len(cold)} text documents: cold {_ms(cold)}; warm {_ms(warm)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=20, help="pages per PDF")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = parser.parse_args()
    bench_pdfs(args.corpus, args.pages)
    bench_sections(args.corpus)


if __name__ == "__main__":
    main()
