"""The article checker: claims about function transforms, anchored in an article and checked by running code.

Modules, one job each:

- :mod:`anchors`  -- locate quotes (whitespace-normalized), split sentences, extract code blocks, token-compare code;
- :mod:`claims`   -- load and validate a claims TOML file (errors name file, line and problem);
- :mod:`sandbox`  -- run one untrusted snippet in a fresh, limited interpreter;
- :mod:`evidence` -- produce evidence in the run: snippets, ports, fixes, API probes, reference values, battery checks;
- :mod:`measure`  -- timing of gradient idioms (the performance claims);
- :mod:`propositions` -- claims as executable properties over the adapter API, run in the sandbox, and their rule;
- :mod:`counters` -- counter-adapters (one planted fault each) under which a proposition's verdict must move;
- :mod:`kinds`    -- one registered handler per claim kind, turning the run's evidence into a named Judgement;
- :mod:`verdicts` -- the written rules from evidence to true/false/partly/unverifiable;
- :mod:`fixes`    -- unified diffs and verification of corrected snippets;
- :mod:`cli`      -- ``python -m conformance check-article`` and the hooks ``all`` calls.
"""
