// Runs seed 002's examples against a flexTracker server, as the seed's "Usage" does:
//   FLEXTRACKER_BASE_URL=http://localhost:8000 FLEXTRACKER_API_KEY=ft_... \
//     node examples/seed002/run.js <trackingNumber> [<shipmentId> ...]
// Prints what the examples print; the last line is a JSON summary (for tests and scripts).

const {
  trackPackage, trackMultipleShipments, createTrackingTimeline, handleTrackingUpdate,
} = require('./tracking');

async function main([trackingNumber, ...shipmentIds]) {
  // Usage (seed 002)
  const tracking = await trackPackage(trackingNumber);
  const timeline = createTrackingTimeline(tracking.events);
  timeline.forEach(event => {
    console.log(`${event.date} ${event.time}: ${event.description} (${event.location})`);
  });

  handleTrackingUpdate(tracking);
  const grouped = shipmentIds.length ? await trackMultipleShipments(shipmentIds) : {};

  const summary = {
    status: tracking.status,
    timeline: timeline.map(event => [event.status, event.description, event.location]),
    grouped: Object.fromEntries(
      Object.entries(grouped).map(([id, events]) => [id, events.map(e => e.status)])
    ),
  };
  console.log(JSON.stringify(summary));
}

main(process.argv.slice(2)).catch(error => {
  console.error(`Error: ${error.message}`);
  process.exit(1);
});
