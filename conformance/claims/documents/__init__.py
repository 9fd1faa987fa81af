"""Check documents that have no claims file: notebooks, Markdown/MyST, reST, sphinx-gallery scripts, docstrings.

A reader turns a document into ordered code cells, each with its file, line and any output the document states
for it (stored notebook outputs, doctest expectations, ``# 4.0`` trailing comments, an output block right after
the code).  One sandboxed session per document runs the cells in order in a shared namespace, with the
libraries' transforms wrapped so that every derivative the document computes is checked against finite
differences of the document's own function.  Verdicts come from that evidence by the rules in ``verdicts``.

Entry point: ``python -m conformance check-doc TARGET...`` (``cli``).
"""
