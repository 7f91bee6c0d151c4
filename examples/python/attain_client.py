#!/usr/bin/env python3
"""A sales system's client of Attain: signs in with a token, books a deal
with a request id (so a retry never books it twice) and reads the rep's
region dashboard, all through the gateway over gRPC.

    pip install -r examples/python/requirements.txt
    (cd proto && buf generate)        # writes gen/python (and go, java, ts)
    attain up                         # prints the gateway and tokens
    python examples/python/attain_client.py --gateway 127.0.0.1:50050 \\
        --token "$ADMIN_TOKEN" --rep units/rep-1 --amount 1200.00 --date 2024-01-16

Exit status: 0 on success, 1 when Attain refused a call (the reason is
printed), 2 on bad arguments.
"""

import argparse
import pathlib
import sys
import uuid

# The generated code (gen/python at the repository root) next to the
# installed packages; google.api comes from googleapis-common-protos.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "gen" / "python"))

import grpc  # noqa: E402
from attain.common.v1 import common_pb2  # noqa: E402
from attain.gateway.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402
from attain.tracking.v1 import tracking_pb2, tracking_pb2_grpc  # noqa: E402


def channel(gateway: str, ca: str | None) -> grpc.Channel:
    if ca:
        with open(ca, "rb") as f:
            return grpc.secure_channel(gateway, grpc.ssl_channel_credentials(f.read()))
    return grpc.insecure_channel(gateway)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gateway", default="127.0.0.1:50050", help="host:port of Attain's gateway")
    p.add_argument("--token", required=True, help="bearer token (attain token, or your identity provider's)")
    p.add_argument("--ca", help="CA certificate (PEM) when the gateway speaks TLS")
    p.add_argument("--rep", required=True, help='the rep unit, e.g. "units/rep-1"')
    p.add_argument("--amount", required=True, help='exact decimal amount, e.g. "1200.00"')
    p.add_argument("--currency", default="CNY")
    p.add_argument("--date", required=True, help="close date, YYYY-MM-DD")
    p.add_argument("--customer", default="")
    p.add_argument("--request-id", default=None, help="idempotency key (default: a new UUID)")
    args = p.parse_args()

    metadata = (("authorization", f"Bearer {args.token}"),)
    request_id = args.request_id or str(uuid.uuid4())
    with channel(args.gateway, args.ca) as ch:
        gateway = gateway_pb2_grpc.GatewayServiceStub(ch)
        tracking = tracking_pb2_grpc.TrackingServiceStub(ch)
        try:
            me = gateway.GetCaller(gateway_pb2.GetCallerRequest(), metadata=metadata, timeout=10)
            print(f"signed in as {me.person} ({common_pb2.Role.Name(me.role)}), today {me.today}")

            deal = tracking_pb2.Deal(
                rep=args.rep,
                amount=common_pb2.Money(currency_code=args.currency, amount=args.amount),
                close_date=args.date,
                customer=args.customer,
            )
            req = tracking_pb2.CreateDealRequest(deal=deal, request_id=request_id)
            first = tracking.CreateDeal(req, metadata=metadata, timeout=10)
            # A retry after a lost answer: same request id, same deal.
            again = tracking.CreateDeal(req, metadata=metadata, timeout=10)
            if again.name != first.name:
                print(f"a retry booked a second deal: {first.name}, {again.name}", file=sys.stderr)
                return 1
            print(f"booked {first.name}: {first.amount.amount} {first.amount.currency_code} (request id {request_id})")

            rep = gateway.GetDashboard(
                gateway_pb2.GetDashboardRequest(unit=args.rep, period=args.date[:7]), metadata=metadata, timeout=10
            )
            a = rep.attainment
            print(
                f"{rep.display_name or rep.unit} {rep.period.expression}: actual {a.actual.amount} "
                f"of {a.target.amount} ({a.attainment_rate}), {common_pb2.Status.Name(a.status)}"
            )
        except grpc.RpcError as e:
            print(f"Attain refused {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
