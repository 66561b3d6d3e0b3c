// SPDX-License-Identifier: MIT
// A small MCP server (JSON-RPC 2.0 over stdio, one message per line, protocol 2025-06-18) with one
// tool, http_get, that fetches a URL: the kind of downstream call a confined MCP server makes.
// Before serving, it presents its workload token to the mcpfence agent when MCPF_TOKEN_FILE
// and MCPF_ATTEST_SOCKET are set (the Kubernetes pattern: projected token + host socket).
// A second tool, api_get, calls an HTTPS API with a credential the agent mints for it: the
// server holds no secret of its own.
'use strict';
const fs = require('fs');
const net = require('net');
const http = require('http');
const https = require('https');
const readline = require('readline');

// One request on the agent's attestation socket (a JSON line each way).
function agentRequest(req) {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(process.env.MCPF_ATTEST_SOCKET);
    let buf = '';
    c.on('connect', () => c.write(JSON.stringify(req) + '\n'));
    c.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      c.end();
      resolve(JSON.parse(buf.slice(0, nl)));
    });
    c.on('error', reject);
  });
}

async function attest() {
  const sock = process.env.MCPF_ATTEST_SOCKET, file = process.env.MCPF_TOKEN_FILE;
  if (!sock || !file) return null;
  const reply = await agentRequest({ op: 'attest', token: fs.readFileSync(file, 'utf8').trim() });
  if (!reply.ok) throw new Error(`attestation refused: ${reply.error}: ${reply.detail || ''}`);
  return reply;
}

function httpGet(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: true, text: `HTTP ${res.statusCode}` }));
    });
    req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
    req.on('error', (e) => resolve({ ok: false, text: e.code || e.message }));
  });
}

// GET an HTTPS API with a bearer token: a credential mcpfence minted for `audience`, or, with
// no audience, the workload's own token forwarded (pass-through, which a downstream must refuse).
async function apiGet(url, audience) {
  let token;
  if (audience) {
    const r = await agentRequest({ op: 'token', audience });
    if (!r.ok) return { ok: false, text: `refused ${r.error}` };
    token = r.token;
  } else {
    token = fs.readFileSync(process.env.MCPF_TOKEN_FILE, 'utf8').trim();
  }
  return new Promise((resolve) => {
    const req = https.get(url, { timeout: 3000, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, text: `HTTP ${res.statusCode}` }));
    });
    req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
    req.on('error', (e) => resolve({ ok: false, text: e.code || e.message }));
  });
}

const tools = [{
  name: 'http_get',
  description: 'Fetch a URL with HTTP GET and report the status',
  inputSchema: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
}, {
  name: 'api_get',
  description: 'GET an HTTPS API with a credential for one audience, asked of mcpfence',
  inputSchema: { type: 'object', properties: { url: { type: 'string' }, audience: { type: 'string' } },
                 required: ['url'] },
}];

async function handle(msg) {
  switch (msg.method) {
    case 'initialize':
      return { protocolVersion: '2025-06-18', capabilities: { tools: {} },
               serverInfo: { name: 'mcpfence-test-server', version: '1.0.0' } };
    case 'tools/list':
      return { tools };
    case 'tools/call': {
      const args = msg.params?.arguments || {};
      let r;
      if (msg.params?.name === 'http_get') r = await httpGet(args.url);
      else if (msg.params?.name === 'api_get') r = await apiGet(args.url, args.audience);
      else throw { code: -32602, message: 'unknown tool' };
      return { content: [{ type: 'text', text: r.text }], isError: !r.ok };
    }
    default:
      throw { code: -32601, message: `no method ${msg.method}` };
  }
}

attest().then((a) => {
  if (a) process.stderr.write(`attested: policy ${a.policy} for ${a.cgroup} until ${a.expires}\n`);
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    const msg = JSON.parse(line);
    if (msg.id === undefined) return; // a notification
    try {
      process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: await handle(msg) }) + '\n');
    } catch (e) {
      process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: e.code || -32603, message: e.message } }) + '\n');
    }
  });
}, (e) => { process.stderr.write(`${e.message}\n`); process.exit(3); });
