# SPDX-License-Identifier: MIT
"""The cloud suite's token signer, independent of mcpfence (Debian's python3-jwcrypto).

  sign.py keys DIR                  RSA 2048 and P-384 keys in DIR, and their key sets:
                                    DIR/rsa.jwks (kid "rsa1"), DIR/aws.jwks (rsa1 and "ec1")
  sign.py sign DIR ALG FIXTURE [NAME=JSON]...
                                    FIXTURE's claims (a provider's published example) re-signed
                                    with DIR's key for ALG (RS256 or ES384): iat and nbf now, exp
                                    now + life (default 900 s); NAME=JSON sets a claim (life=5400
                                    sets the lifetime, NAME=null removes the claim)
"""
import json
import os
import sys
import time

from jwcrypto import jwk, jwt


def keys(d):
    rsa = jwk.JWK.generate(kty="RSA", size=2048, kid="rsa1", use="sig", alg="RS256")
    ec = jwk.JWK.generate(kty="EC", crv="P-384", kid="ec1", use="sig", alg="ES384")
    for name, k in (("rsa", rsa), ("ec", ec)):
        with open(os.path.join(d, name + ".jwk"), "w") as f:
            f.write(k.export_private())
    for name, ks in (("rsa.jwks", [rsa]), ("aws.jwks", [rsa, ec])):
        with open(os.path.join(d, name), "w") as f:
            json.dump({"keys": [json.loads(k.export_public()) for k in ks]}, f)


def sign(d, alg, fixture, sets):
    with open(fixture) as f:
        claims = json.load(f)
    now = int(time.time())
    life = 900
    for s in sets:
        name, value = s.split("=", 1)
        value = json.loads(value)
        if name == "life":
            life = value
        elif value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    claims.update({"iat": now, "nbf": now, "exp": now + life})
    for name, value in [s.split("=", 1) for s in sets]:  # a fixed time wins over "now"
        if name in ("iat", "nbf", "exp"):
            claims[name] = json.loads(value)
    with open(os.path.join(d, ("ec" if alg == "ES384" else "rsa") + ".jwk")) as f:
        key = jwk.JWK.from_json(f.read())
    tok = jwt.JWT(header={"alg": alg, "kid": key.get("kid"), "typ": "JWT"}, claims=claims)
    tok.make_signed_token(key)
    print(tok.serialize())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "keys":
        keys(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == "sign":
        sign(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit(__doc__)
