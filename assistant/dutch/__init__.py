"""Dutch text as plain ``str -> value`` functions: folding, words, stems, numbers, names
(``text``), sentences and citation markers in them (``sentences``), and the language of a
text (``language``).

Nothing here imports from the rest of ``assistant`` (a test enforces it): these are the
building blocks that the question analysis, retrieval, ingest and the answer check share, so
each rule about Dutch has one home.
"""
