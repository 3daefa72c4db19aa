"""The roads an OMS message takes besides our API: file drops and SFTP, message queues, Shopify.
Every one ends in `core.channel_deliver` (`channel_deliver_all` for many records at once), so all
of them reach the same services as the API."""
