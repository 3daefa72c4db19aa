// Seed 002's JavaScript examples (shared/seeds/002: "Examples" and "Webhook Verification"), as the
// seed gives them. Changed only where API.md allows: the base URL and the key (BASE_URL, API_KEY),
// and the signature header's name (FlexTracker-Signature); plus the one typo of the seed, the
// apostrophe inside 'we're working' (a syntax error as printed). notifyCustomer and
// requestAddressUpdate are the seed's own placeholders: the caller supplies them (globals).
const BASE_URL = process.env.BASE_URL;
const API_KEY = process.env.API_KEY;

async function trackPackage(trackingNumber) {
const response = await fetch(`${BASE_URL}/api/v1/tracking/${trackingNumber}`, {
headers: {
'Authorization': `Bearer ${API_KEY}`
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

async function trackMultipleShipments(shipmentIds) {
const events = await fetch(`${BASE_URL}/api/v1/tracking/events?shipmentIds=${shipmentIds.join(',')}`, {
headers: {
'Authorization': `Bearer ${API_KEY}`
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
notifyCustomer("Delivery issue occurred - we're working to resolve it");
}
break;
case 'OUT_FOR_DELIVERY':
notifyCustomer('Your package is out for delivery today!');
break;
}
}

const crypto = require('crypto');
function verifyWebhookSignature(payload, signature, secret) {
const expectedSignature = crypto
.createHmac('sha256', secret)
.update(payload, 'utf8')
.digest('hex');
const expectedHeader = `sha256=${expectedSignature}`;
return crypto.timingSafeEqual(
Buffer.from(signature, 'utf8'),
Buffer.from(expectedHeader, 'utf8')
);
}

module.exports = {
  trackPackage, trackMultipleShipments, createTrackingTimeline, handleTrackingUpdate,
  verifyWebhookSignature,
};
