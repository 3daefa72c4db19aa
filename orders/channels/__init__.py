"""The roads an OMS message takes besides our API: file drops and SFTP, message queues, Shopify.
Every one ends in `core.channel_deliver`, so all of them reach the same services as the API."""
