"""Signal names that carry one meaning for every part that reads them.

``RUN_SIGNAL``: 1 while the machine runs, 0 while it is stopped. The agent's detectors
and the ingester's risk scoring leave stopped samples out; the simulators publish it.
(``models/`` imports nothing of ours, so its own default, ``models.features.RUN_SIGNAL``,
is checked equal to this one by ``tests/test_architecture.py``.)
"""

RUN_SIGNAL = "running"
