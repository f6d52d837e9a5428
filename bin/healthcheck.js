#!/usr/bin/env node
'use strict';
// The image's HEALTHCHECK: does the host API answer GET /api/v1/health on this machine?
// Liveness only, no token. Plain HTTP first; a reader started with --tls-cert speaks TLS
// only, so HTTPS next, without checking the certificate: this asks "alive?" and sends
// nothing secret. Usage: node bin/healthcheck.js [PORT] (default 8080). Exit 0 = healthy.
const http = require('node:http');
const https = require('node:https');

const port = Number(process.argv[2] || 8080);

function answers(client, options) {
  return new Promise((resolve) => {
    const request = client.get(
      { host: '127.0.0.1', port, path: '/api/v1/health', timeout: 1500, ...options },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

answers(http, {})
  .then((ok) => ok || answers(https, { rejectUnauthorized: false }))
  .then((ok) => process.exit(ok ? 0 : 1));
