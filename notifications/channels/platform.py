"""Writing back to the merchant's store or OMS (a Shopify fulfillment event, a WooCommerce order
note, a Magento status-history comment): the outbox row names the connection by its public id,
and the platform's writer (platforms/writers.py) does the call. Its two kinds of failure become
the outbox's: retried later with the platform's wait, or given up. Each outcome is recorded on
the connection's health (notifications/platform_health.py: repeated failure alerts staff)."""

from notifications.channels import Delivery, DeliveryFailed, DeliveryRefused
from notifications.platform_health import platform_connection_failure
from platforms.clients import PlatformRefused, PlatformUnavailable
from platforms.models import PlatformConnection
from platforms.services import platform_connection_synced
from platforms.writers import WRITERS


class PlatformChannel:
    def send(self, notification) -> Delivery:
        connection = PlatformConnection.objects.filter(
            merchant_id=notification.merchant_id, public_id=notification.recipient
        ).first()
        if connection is None or not connection.is_active:
            raise DeliveryRefused("The store connection was removed or switched off.")
        writer = WRITERS.get(connection.kind)
        if writer is None:
            raise DeliveryRefused(f"Nothing is written back to {connection.get_kind_display()}.")
        try:
            written = writer(connection, notification.payload)
        except PlatformUnavailable as error:
            platform_connection_failure(connection=connection, error=str(error))
            raise DeliveryFailed(
                str(error), response_status=error.response_status, retry_after=error.retry_after
            ) from error
        except PlatformRefused as error:
            platform_connection_failure(connection=connection, error=str(error))
            raise DeliveryRefused(str(error), response_status=error.response_status) from error
        platform_connection_synced(connection=connection)
        return Delivery(provider_id=written[:200])
