// Seed 002's JavaScript examples ("Tracking API" → Examples), as the seed gives them. Changed:
// the base URL and the key come from the environment (FLEXTRACKER_BASE_URL, FLEXTRACKER_API_KEY),
// the one apostrophe the seed left unescaped in handleTrackingUpdate is fixed, and the two
// functions the seed leaves to its reader (notifyCustomer, requestAddressUpdate) are defined below.
// Use a key issued with the `tracking-api` style (or send `FlexTracker-Style: tracking-api`).

const BASE_URL = process.env.FLEXTRACKER_BASE_URL || 'http://localhost:8000';
const YOUR_API_KEY = process.env.FLEXTRACKER_API_KEY;

// Basic Tracking
async function trackPackage(trackingNumber) {
  const response = await fetch(`${BASE_URL}/api/v1/tracking/${trackingNumber}`, {
    headers: {
      'Authorization': `Bearer ${YOUR_API_KEY}`
    }
  });
  const tracking = await response.json();

  if (tracking.success) {
    console.log(`Status: ${tracking.data.status}`);
    console.log(`Last Update: ${tracking.data.lastUpdated}`);

    // Show latest event
    const latestEvent = tracking.data.events[0];
    console.log(`Latest: ${latestEvent.description}`);

    return tracking.data;
  } else {
    throw new Error(tracking.error.message);
  }
}

// Track Multiple Shipments
async function trackMultipleShipments(shipmentIds) {
  const events = await fetch(`${BASE_URL}/api/v1/tracking/events?shipmentIds=${shipmentIds.join(',')}`, {
    headers: {
      'Authorization': `Bearer ${YOUR_API_KEY}`
    }
  });
  const trackingData = await events.json();

  // Group events by shipment
  const shipmentTracking = {};
  trackingData.data.forEach(event => {
    if (!shipmentTracking[event.shipmentId]) {
      shipmentTracking[event.shipmentId] = [];
    }
    shipmentTracking[event.shipmentId].push(event);
  });

  return shipmentTracking;
}

// Display Tracking Timeline
function createTrackingTimeline(events) {
  const timeline = events
    .sort((a, b) => new Date(b.timestamp) - new Date(a.timestamp))
    .map(event => ({
      date: new Date(event.timestamp).toLocaleDateString(),
      time: new Date(event.timestamp).toLocaleTimeString(),
      status: event.status,
      description: event.description,
      location: event.location ?
        `${event.location.city}, ${event.location.state}` :
        'Unknown'
    }));

  return timeline;
}

// Handle Delivery Exceptions
function handleTrackingUpdate(trackingData) {
  const { status, events } = trackingData;

  switch (status) {
    case 'DELIVERED':
      // Package delivered successfully
      notifyCustomer('Your package has been delivered!');
      break;

    case 'EXCEPTION':
      const latestEvent = events[0];
      const exceptionReason = latestEvent.exceptionReason;

      switch (exceptionReason) {
        case 'RECIPIENT_NOT_AVAILABLE':
          notifyCustomer('Delivery attempted - please be available tomorrow');
          break;
        case 'INCORRECT_ADDRESS':
          notifyCustomer('Please verify your delivery address');
          requestAddressUpdate();
          break;
        case 'WEATHER_DELAY':
          notifyCustomer('Delivery delayed due to weather conditions');
          break;
        default:
          notifyCustomer('Delivery issue occurred - we\'re working to resolve it');
      }
      break;

    case 'OUT_FOR_DELIVERY':
      notifyCustomer('Your package is out for delivery today!');
      break;
  }
}

// What the seed leaves to its reader: here they print what they would do.
function notifyCustomer(message) {
  console.log(`notifyCustomer: ${message}`);
}

function requestAddressUpdate() {
  console.log('requestAddressUpdate');
}

module.exports = {
  trackPackage, trackMultipleShipments, createTrackingTimeline, handleTrackingUpdate,
};
