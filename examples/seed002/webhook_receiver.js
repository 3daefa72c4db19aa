// Seed 002's webhook receiver, run against flexTracker: its Express.js handler (below, verbatim
// but for the signature header's name: flexTracker sends `FlexTracker-Signature`), with the
// seed's `verifyWebhookSignature` and `handleTrackingUpdate` from seed002.js. Express is not
// installed here, so the few lines of it the handler uses (`app.post`, `express.raw`,
// `res.status().send()`) are stood in for by plain node `http` below.
//
//   WEBHOOK_SECRET=<the subscription's secret> PORT=8787 node examples/seed002/webhook_receiver.js
//
// then subscribe `https://<this machine>/webhooks/tracking` with POST /api/v1/tracking/webhook
// and that secret. It prints `listening <port>` once, then one JSON line per request:
// {"status", "event", "notified": [what handleTrackingUpdate told the customer]}.
'use strict';
const http = require('http');

// --- The part of express the seed's handler uses --------------------------------------------
const routes = {};
const app = { post: (path, ...handlers) => { routes[path] = handlers; } };
const express = { raw: () => (req, res, next) => next() }; // the server below reads the body raw

// --- What the seed's handleTrackingUpdate calls: the merchant's own code --------------------
let notified = [];
global.notifyCustomer = (message) => notified.push(message);
global.requestAddressUpdate = () => notified.push('(address update requested)');

// --- Seed 002, verbatim (seed002.js; header name and apostrophe excepted) --------------------
const { handleTrackingUpdate, verifyWebhookSignature } = require('./seed002.js');

// Express.js webhook handler
app.post('/webhooks/tracking', express.raw({type: 'application/json'}), (req, res) => {
const signature = req.headers['flextracker-signature'];
const payload = req.body;
if (!verifyWebhookSignature(payload, signature, process.env.WEBHOOK_SECRET)) {
return res.status(401).send('Unauthorized');
}
const event = JSON.parse(payload);
handleTrackingUpdate(event.data);
res.status(200).send('OK');
});

// --- The server: express's routing and response, in plain node http --------------------------
function respond(res, event) {
  return {
    status(code) {
      return {
        send(text) {
          console.log(JSON.stringify({ status: code, event, notified }));
          res.writeHead(code, { 'Content-Type': 'text/plain' }).end(text);
        },
      };
    },
  };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const handlers = req.method === 'POST' && routes[req.url];
    if (!handlers) return res.writeHead(404).end();
    req.body = Buffer.concat(chunks);
    notified = [];
    let event = null;
    try {
      event = JSON.parse(req.body);
    } catch (error) {
      // the seed's handler answers 401 before parsing anything unsigned
    }
    const [middleware, handler] = handlers;
    try {
      middleware(req, res, () => handler(req, respond(res, event)));
    } catch (error) {
      console.log(JSON.stringify({ status: 500, event, error: String(error) }));
      res.writeHead(500).end();
    }
  });
});
server.listen(Number(process.env.PORT || 8787), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
