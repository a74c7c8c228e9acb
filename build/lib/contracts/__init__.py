"""What the parts of Forewarn agree on, and nothing else: the bottom layer.

- ``wire``: MQTT topics and payloads between edge agents and ingesters;
- ``mqtt``: how a client reaches a broker (URL, and the settings both sides share);
- ``api_bodies``: the request bodies the ingester sends to the service API;
- ``ids``: the identifier pattern of assets, gateways, sites and signals;
- ``signals``: signal names every part reads with one meaning (the run state);
- ``sqlite``: how every part opens a SQLite file it must not lose on a power cut;
- ``errors``: ``ConfigError``, raised for a bad setting wherever it is found.

This package imports nothing else of Forewarn (a test enforces it).
"""
