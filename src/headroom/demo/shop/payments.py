"""Charging orders through the payment provider's HTTP API (the demo's slow local one)."""

from __future__ import annotations

import requests
from django.conf import settings

from headroom.demo.shop import fixed_mode
from headroom.demo.shop.models import Order

#: (connect, read) seconds: a provider that does not answer must not hold a worker forever.
PAYMENT_TIMEOUT = (3.05, 10.0)


def charge(order: Order) -> str:
    """Charge ``order.total``; returns the provider's charge id. Raises on failure."""
    url: str = getattr(settings, "HEADROOM_DEMO_PAYMENT_URL", "")
    payload = {"order": order.reference, "amount": str(order.total), "currency": "GBP"}
    if fixed_mode():
        # A timeout, and the order reference as idempotency key: a retried charge (the
        # background task retries) is not taken twice.
        headers = {"Idempotency-Key": order.reference}
        reply = requests.post(url, json=payload, headers=headers, timeout=PAYMENT_TIMEOUT)
    else:
        reply = requests.post(url, json=payload)  # headroom-demo: planted blocking_call
    reply.raise_for_status()
    return str(reply.json()["id"])


def capture_payment(order_id: int) -> None:
    """Charge a pending order and mark it paid.

    The fixed checkout runs this in the background (``headroom.offload.submit``) after the
    order is saved; it may run again after a failure, so it does nothing to a paid order.
    """
    order = Order.objects.get(pk=order_id)
    if order.status != Order.Status.PENDING:
        return
    charge_id = charge(order)
    Order.objects.filter(pk=order_id, status=Order.Status.PENDING).update(
        status=Order.Status.PAID, payment_reference=charge_id
    )
