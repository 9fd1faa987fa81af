"""One module per document format; each registers itself with ``conformance.claims.documents.registry.reader``."""
