"""Replaying a logged message through the code that first handled it."""

from inbound.models import InboundChannel, InboundMessage
from inbound.services import Failure, Result, inbound_process
from ingest.channels.core import channel_process
from ingest.endpoints import api_endpoint


def inbound_replay(message: InboundMessage) -> Result | Failure:
    """Processes a stored message again (after staff fixed the merchant's data, or its format
    dictionary), through the same code that first handled it."""
    message.replay_count += 1
    message.save(update_fields=["replay_count"])
    if message.channel != InboundChannel.API:
        return channel_process(message)
    endpoint, arguments = api_endpoint(message.path)
    return inbound_process(
        message, lambda merchant, payload: endpoint.handle(merchant, payload, **arguments)
    )
