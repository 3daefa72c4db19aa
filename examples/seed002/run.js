// Runs seed 002's examples (seed002.js) against a live flexTracker, as a merchant developer would:
//
//   BASE_URL=http://127.0.0.1:8000 API_KEY=ftk_... node run.js track SBXDELIVERED0001
//   ... node run.js multiple <shipmentId>,<shipmentId>
//   ... node run.js timeline SBXDELIVERED0001
//   ... node run.js handle SBXDELIVERED0001
//   WEBHOOK_SECRET=... PORT=4000 node run.js webhooks     (the seed's Express-style receiver)
//
// Each prints one JSON line of what the example did, for a person or a test to read. The seed's
// placeholders notifyCustomer and requestAddressUpdate only record that they were called.
const http = require('http');
const seed = require('./seed002.js');

const notified = [];
global.notifyCustomer = (message) => notified.push(message);
global.requestAddressUpdate = () => notified.push('(address update requested)');

function print(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

// The seed's handler is written for Express; a few lines of node's http give it the same
// `app.post(path, express.raw(...), handler)`, `req.body` (a Buffer) and `res.status().send()`.
const express = {
  raw: () => (req, res, next) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => { req.body = Buffer.concat(chunks); next(); });
  },
};
const routes = {};
const app = {
  post: (path, middleware, handler) => { routes[`POST ${path}`] = [middleware, handler]; },
  listen: (port, ready) => http.createServer((req, res) => {
    res.status = (code) => { res.statusCode = code; return res; };
    res.send = (text) => res.end(text);
    const route = routes[`${req.method} ${req.url}`];
    if (!route) { res.statusCode = 404; return res.end(); }
    const [middleware, handler] = route;
    middleware(req, res, () => {
      notified.length = 0;
      try {
        handler(req, res);
      } catch (error) {
        res.statusCode = 500;
        res.end(String(error));
      }
      print({ path: req.url, status: res.statusCode, notified: [...notified] });
    });
  }).listen(port, '127.0.0.1', ready),
};

// Express.js webhook handler (the seed's, with our header name)
app.post('/webhooks/tracking', express.raw({type: 'application/json'}), (req, res) => {
const signature = req.headers['flextracker-signature'];
const payload = req.body;
if (!seed.verifyWebhookSignature(payload, signature, process.env.WEBHOOK_SECRET)) {
return res.status(401).send('Unauthorized');
}
const event = JSON.parse(payload);
seed.handleTrackingUpdate(event.data);
res.status(200).send('OK');
});

async function main([command, argument]) {
  const logged = [];
  const log = console.log;
  console.log = (line) => logged.push(line);
  try {
    if (command === 'track') {
      const data = await seed.trackPackage(argument);
      print({ logged, status: data.status, events: data.events.length });
    } else if (command === 'multiple') {
      const grouped = await seed.trackMultipleShipments(argument.split(','));
      print(Object.fromEntries(Object.entries(grouped).map(([id, events]) => [id, events.length])));
    } else if (command === 'timeline') {
      const tracking = await seed.trackPackage(argument);
      print({ timeline: seed.createTrackingTimeline(tracking.events) });
    } else if (command === 'handle') {
      seed.handleTrackingUpdate(await seed.trackPackage(argument));
      print({ notified });
    } else if (command === 'webhooks') {
      console.log = log;
      app.listen(Number(process.env.PORT), () => print({ listening: Number(process.env.PORT) }));
    } else {
      throw new Error(`Unknown command ${command}`);
    }
  } catch (error) {
    print({ error: error.message });
    process.exitCode = 1;
  }
}

main(process.argv.slice(2));
