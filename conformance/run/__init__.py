"""Running the battery: the pytest tests and plugin that check one backend, the runner that spawns and watches
their shards, the split into shards, the checks of every input before work starts, the reference's shared cache,
and the embeddable API (:mod:`conformance.run.api`) that does all of it from a script.

Data flows one way: :mod:`conformance.battery` in, the records of :mod:`conformance.store` out.
"""
