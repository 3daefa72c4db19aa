"""Replaying a logged message through the code that first handled it."""

from inbound.models import InboundChannel, InboundMessage
from inbound.services import Failure, Result, inbound_process


def inbound_replay(message: InboundMessage) -> Result | Failure:
    """Processes a stored message again (after staff fixed the merchant's data, or its format
    dictionary), through the same code that first handled it."""
    # Imported at call time: the channels import this module.
    from ingest.channels.core import channel_process

    message.replay_count += 1
    message.save(update_fields=["replay_count"])
    if message.channel != InboundChannel.API:
        return channel_process(message)
    view, kwargs = api_endpoint(message)
    return inbound_process(
        message, lambda merchant, payload: view.handle(merchant, payload, **kwargs)
    )


def api_endpoint(message: InboundMessage) -> tuple[object, dict]:
    """The endpoint (a view instance) an API message was posted to, and its URL's arguments."""
    from django.urls import resolve  # at call time: the URLconf imports this module

    match = resolve(message.path)
    return match.func.view_class(), match.kwargs
