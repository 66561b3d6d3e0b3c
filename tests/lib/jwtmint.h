/* SPDX-License-Identifier: MIT */
/* Test and benchmark helpers: a key's public JWK, and compact tokens signed with OpenSSL. */
#ifndef MCPFENCE_JWTMINT_H
#define MCPFENCE_JWTMINT_H

#include <jansson.h>
#include <openssl/evp.h>

#include "jws.h"

/* The public JWK of `key` with this kid and alg. */
json_t *jwtmint_jwk(EVP_PKEY *key, const char *kid, enum jws_alg alg);
/* Sign header.payload (JSON text, encoded here) by `alg`'s rules (ES*: raw r||s). */
char *jwtmint_sign(EVP_PKEY *key, enum jws_alg alg, const char *header, const char *payload);

#endif
