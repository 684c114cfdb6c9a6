#!/usr/bin/env python3
"""Writes Tests/Fixtures/xds/NAME.binpb for each NAME.json there: the JSON parsed and serialized by Envoy's own
generated Python code (PyPI xds-protos), deterministically. SkiffXDSProtoTests decodes both and requires the same
message and the same bytes, which catches a wrong field number in Protos/xds. Run it inside a venv with xds-protos
(scripts/check-xds-proto-fields.py makes one in .build-venv/): .build-venv/bin/python scripts/make-xds-fixtures.py"""
import importlib, os
from google.protobuf import json_format

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "xds")
TYPES = {
    "listener-http": "envoy.config.listener.v3.listener_pb2.Listener",
    "route-config": "envoy.config.route.v3.route_pb2.RouteConfiguration",
    "cluster-load-assignment": "envoy.config.endpoint.v3.endpoint_pb2.ClusterLoadAssignment",
    "cluster-static-h2": "envoy.config.cluster.v3.cluster_pb2.Cluster",
    "cluster-eds": "envoy.config.cluster.v3.cluster_pb2.Cluster",
}
# Modules whose messages appear packed in Any inside the fixtures.
for module in ["envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2",
               "envoy.extensions.filters.http.router.v3.router_pb2",
               "envoy.extensions.upstreams.http.v3.http_protocol_options_pb2",
               "envoy.extensions.transport_sockets.tls.v3.tls_pb2"]:
    importlib.import_module(module)

for name, path in TYPES.items():
    module, cls = path.rsplit(".", 1)
    message = getattr(importlib.import_module(module), cls)()
    json_format.Parse(open(os.path.join(FIXTURES, name + ".json")).read(), message)
    with open(os.path.join(FIXTURES, name + ".binpb"), "wb") as out:
        out.write(message.SerializeToString(deterministic=True))
    print(name, message.ByteSize(), "bytes")
