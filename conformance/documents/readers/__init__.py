"""One module per document format; each registers itself with ``conformance.documents.registry.reader``."""
