#!/usr/bin/env python3
"""A pocket OTLP/gRPC trace collector: prints each trace Attain sends as a
tree of spans with their durations, so one dashboard call reads as one
trace across the gateway and every service it reached.

    python3 -m venv .venv && .venv/bin/pip install grpcio opentelemetry-proto
    .venv/bin/python examples/python/print_traces.py            # listens on 127.0.0.1:4317
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 attain demo
"""

import argparse
import collections
import threading
import time
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Printer(trace_service_pb2_grpc.TraceServiceServicer):
    """Buffers spans per trace and prints a trace once it has been quiet."""

    def __init__(self, quiet: float):
        self.quiet = quiet
        self.traces = collections.defaultdict(list)
        self.seen = {}
        self.lock = threading.Lock()
        threading.Thread(target=self.flush_loop, daemon=True).start()

    def Export(self, request, context):  # noqa: N802 (gRPC's name)
        with self.lock:
            for rs in request.resource_spans:
                service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "?")
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        self.traces[s.trace_id.hex()].append((service, s))
                        self.seen[s.trace_id.hex()] = time.monotonic()
        return trace_service_pb2.ExportTraceServiceResponse()

    def flush_loop(self):
        while True:
            time.sleep(self.quiet / 2)
            now = time.monotonic()
            with self.lock:
                done = [t for t, at in self.seen.items() if now - at > self.quiet]
                for t in done:
                    self.show(t, self.traces.pop(t))
                    del self.seen[t]

    @staticmethod
    def show(trace, spans):
        by_parent = collections.defaultdict(list)
        ids = {s.span_id for _, s in spans}
        for service, s in spans:
            parent = s.parent_span_id if s.parent_span_id in ids else b""
            by_parent[parent].append((service, s))
        print(f"trace {trace}")

        def walk(parent, depth):
            for service, s in sorted(by_parent[parent], key=lambda x: x[1].start_time_unix_nano):
                ms = (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6
                # A statement is shown by what it did ("SELECT rollups").
                summary = next((a.value.string_value for a in s.attributes if a.key == "db.query.summary"), "")
                print(f"  {'  ' * depth}{summary or s.name}  {ms:.1f} ms  [{service}]")
                walk(s.span_id, depth + 1)

        walk(b"", 0)
        print(flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:4317")
    p.add_argument("--quiet", type=float, default=2.0, help="seconds without new spans before a trace prints")
    args = p.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Printer(args.quiet), server)
    server.add_insecure_port(args.listen)
    server.start()
    print(f"collecting OTLP traces on {args.listen}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
