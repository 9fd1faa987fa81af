"""Code that runs inside the sandbox, beside the document harness (``documents/harness.py``).

The sandbox's interpreter has the project on its path (read-only), so the harness imports these modules; the
session preimports them before the audit hook, like the libraries.  They hold to the harness's rule: standard
library, numpy and the libraries the document imports only, never the checker's own host-side modules.
"""
