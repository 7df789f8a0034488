"""GetTelemetrySubscriptions 0 and PushTelemetry 0 (KIP-714): answered by the broker's
``ClientTelemetry`` (broker/telemetry.py), which keeps what each client pushed."""

from broker.registry import handles
from kproto.messages import GET_TELEMETRY_SUBSCRIPTIONS, PUSH_TELEMETRY


def _subscription_error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "client_instance_id": bytes(16), "subscription_id": 0,
            "accepted_compression_types": [], "push_interval_ms": 0, "telemetry_max_bytes": 0,
            "delta_temporality": False, "requested_metrics": []}


@handles(GET_TELEMETRY_SUBSCRIPTIONS, "0", error_response=_subscription_error)
def get_telemetry_subscriptions(ctx, req: dict) -> dict:
    return ctx.broker.telemetry.get_subscriptions(ctx, req)


@handles(PUSH_TELEMETRY, "0")
def push_telemetry(ctx, req: dict) -> dict:
    return ctx.broker.telemetry.push(ctx, req)
