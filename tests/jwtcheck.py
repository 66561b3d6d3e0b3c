#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An independent verifier for tokens mcpfence mints: Debian's PyJWT and jwcrypto, which see
only the exported discovery document and key set (never mcpfence's code or keys).

  jwtcheck.py verify DIR AUDIENCE TOKEN [--later S] [--drop-kid]
      prints the claims as JSON and exits 0 when both libraries accept the token for AUDIENCE
      and the issuer the discovery document names; else prints why and exits 1. --later S
      judges its expiry S seconds from now; --drop-kid verifies against the key set without
      the token's key (a key removed from the set).
"""
import json
import sys

import jwt
from jwcrypto import jwk, jws


def main():
    if len(sys.argv) < 5 or sys.argv[1] != "verify":
        print(__doc__)
        return 2
    base, aud, token = sys.argv[2], sys.argv[3], sys.argv[4]
    later = int(sys.argv[sys.argv.index("--later") + 1]) if "--later" in sys.argv else 0
    conf = json.load(open(base + "/.well-known/openid-configuration"))
    keys = json.load(open(base + "/.well-known/jwks.json"))["keys"]
    kid = jwt.get_unverified_header(token).get("kid")
    if "--drop-kid" in sys.argv:
        keys = [k for k in keys if k.get("kid") != kid]
    match = [k for k in keys if k.get("kid") == kid]
    if not match:
        print("no key %s in the set" % kid)
        return 1
    # PyJWT: signature, iss, aud, exp, nbf, iat, with the algorithm pinned
    key = jwt.PyJWK.from_dict(match[0]).key
    try:
        claims = jwt.decode(token, key, algorithms=["ES256"], audience=aud, issuer=conf["issuer"],
                            leeway=-later, options={"require": ["exp", "iat", "nbf", "jti", "sub"],
                                                     "verify_iat": not later, "verify_nbf": not later})
    except jwt.PyJWTError as e:
        print("pyjwt: %s: %s" % (type(e).__name__, e))
        return 1
    # jwcrypto: the signature again, through the whole key set as a JWKS
    ks = jwk.JWKSet.from_json(json.dumps({"keys": keys}))
    try:
        j = jws.JWS()
        j.deserialize(token)
        j.verify(ks.get_key(kid), alg="ES256")
    except Exception as e:  # jwcrypto raises several kinds
        print("jwcrypto: %s" % e)
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
