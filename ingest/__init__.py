"""Ingestion: turn a folder of documents into the published index.

Pipeline, one module per stage:

* ``loaders`` — read a file (PDF, DOCX, HTML, Markdown, plain text) into raw pages of blocks,
  plus the document's metadata (sidecar ``<stem>.meta.json``, else the file's own, else its
  name). Bad files raise ``LoadError`` with a one-line reason; they never crash a run.
* ``clean`` — de-hyphenate, drop running headers/footers, normalise Unicode and whitespace,
  detect headings, paragraphs and list items; one cleaned text per page.
* ``split`` — structure-aware chunks sized in tiktoken tokens, with character offsets into the
  cleaned page text.
* ``sync`` — compare the folder with the active manifest by content hash, build a complete new
  generation (unchanged documents copied with their vectors), then publish it atomically.
  One writer at a time (a lock file).
* ``upload`` — save an uploaded file into the corpus folder safely (the beheer page).

Run it as ``python -m ingest`` (see ``ingest.__main__``).
"""
