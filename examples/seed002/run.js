// Runs seed 002's examples (seed002.js) against a live flexTracker, as a merchant developer would:
//
//   BASE_URL=http://127.0.0.1:8000 API_KEY=ftk_... node run.js track SBXDELIVERED0001
//   ... node run.js multiple <shipmentId>,<shipmentId>
//   ... node run.js timeline SBXDELIVERED0001
//   ... node run.js handle SBXDELIVERED0001
//
// The seed's webhook receiver (verifyWebhookSignature and its Express handler): webhook_receiver.js.
// Each prints one JSON line of what the example did, for a person or a test to read. The seed's
// placeholders notifyCustomer and requestAddressUpdate only record that they were called.
const seed = require('./seed002.js');

const notified = [];
global.notifyCustomer = (message) => notified.push(message);
global.requestAddressUpdate = () => notified.push('(address update requested)');

function print(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

async function main([command, argument]) {
  const logged = [];
  console.log = (line) => logged.push(line);
  try {
    if (command === 'track') {
      const data = await seed.trackPackage(argument);
      print({ logged, status: data.status, shipmentId: data.shipmentId, events: data.events.length });
    } else if (command === 'multiple') {
      const grouped = await seed.trackMultipleShipments(argument.split(','));
      print(Object.fromEntries(Object.entries(grouped).map(([id, events]) => [id, events.length])));
    } else if (command === 'timeline') {
      const tracking = await seed.trackPackage(argument);
      print({ timeline: seed.createTrackingTimeline(tracking.events) });
    } else if (command === 'handle') {
      seed.handleTrackingUpdate(await seed.trackPackage(argument));
      print({ notified });
    } else {
      throw new Error(`Unknown command ${command}`);
    }
  } catch (error) {
    print({ error: error.message });
    process.exitCode = 1;
  }
}

main(process.argv.slice(2));
