"""The claims checker: an article's claims files (:mod:`conformance.claims.article`) and the checkable claims of
documents, notebooks and docstrings (:mod:`conformance.claims.documents`), judged from evidence run in one sandbox,
with one vocabulary of verdicts (:data:`conformance.contract.VERDICTS`) and one rule for printed numbers
(:mod:`conformance.claims.printed_numbers`).
"""
