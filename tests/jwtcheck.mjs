// SPDX-License-Identifier: MIT
// The same independent check with Node's `jose` (npm), from the exported documents only:
//   node jwtcheck.mjs DIR AUDIENCE TOKEN   -> the claims as JSON, exit 0; else why, exit 1
import { readFileSync } from "node:fs";
import { createLocalJWKSet, jwtVerify } from "jose";

const [dir, aud, token] = process.argv.slice(2);
const conf = JSON.parse(readFileSync(`${dir}/.well-known/openid-configuration`, "utf8"));
const jwks = createLocalJWKSet(JSON.parse(readFileSync(`${dir}/.well-known/jwks.json`, "utf8")));
try {
  const { payload } = await jwtVerify(token, jwks, { issuer: conf.issuer, audience: aud, algorithms: ["ES256"] });
  console.log(JSON.stringify(payload));
} catch (e) {
  console.log(`jose: ${e.code || e.name}: ${e.message}`);
  process.exit(1);
}
