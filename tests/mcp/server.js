// SPDX-License-Identifier: MIT
// A small MCP server (JSON-RPC 2.0 over stdio, one message per line, protocol 2025-06-18) with one
// tool, http_get, that fetches a URL: the kind of downstream call a confined MCP server makes.
// Before serving, it presents its workload token to the mcpfence agent when MCPF_TOKEN_FILE
// and MCPF_ATTEST_SOCKET are set (the Kubernetes pattern: projected token + host socket).
'use strict';
const fs = require('fs');
const net = require('net');
const http = require('http');
const readline = require('readline');

function attest() {
  const sock = process.env.MCPF_ATTEST_SOCKET, file = process.env.MCPF_TOKEN_FILE;
  if (!sock || !file) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let buf = '';
    c.on('connect', () => c.write(JSON.stringify({ op: 'attest', token: fs.readFileSync(file, 'utf8').trim() }) + '\n'));
    c.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const reply = JSON.parse(buf.slice(0, nl));
      c.end();
      if (reply.ok) resolve(reply);
      else reject(new Error(`attestation refused: ${reply.error}: ${reply.detail || ''}`));
    });
    c.on('error', reject);
  });
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

const tools = [{
  name: 'http_get',
  description: 'Fetch a URL with HTTP GET and report the status',
  inputSchema: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
}];

async function handle(msg) {
  switch (msg.method) {
    case 'initialize':
      return { protocolVersion: '2025-06-18', capabilities: { tools: {} },
               serverInfo: { name: 'mcpfence-test-server', version: '1.0.0' } };
    case 'tools/list':
      return { tools };
    case 'tools/call': {
      if (msg.params?.name !== 'http_get') throw { code: -32602, message: 'unknown tool' };
      const r = await httpGet(msg.params.arguments.url);
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
