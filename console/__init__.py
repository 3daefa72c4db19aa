"""The customer-service console: search any order, see its whole story, act on it, and the
merchant dashboard. It is the top layer, as it reaches every other app (refreshing a shipment is
tracking's work); access is by Django login, scoped like the admin."""
