// SPDX-License-Identifier: MIT
#include "issuer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64url.h"
#include "util.h"

#define P256_COORD 32

/* x and y of a P-256 public key, base64url, as a JWK has them. */
static int key_coords(EVP_PKEY *pkey, char **x, char **y)
{
	uint8_t pt[1 + 2 * P256_COORD];
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt),
					    &len) != 1 ||
	    len != sizeof(pt) || pt[0] != 4)
		return -EINVAL;
	*x = b64url_encode(pt + 1, P256_COORD);
	*y = b64url_encode(pt + 1 + P256_COORD, P256_COORD);
	if (!*x || !*y) {
		free(*x);
		free(*y);
		return -ENOMEM;
	}
	return 0;
}

static json_t *key_jwk(const struct issuer_key *k)
{
	_cleanup_free_ char *x = NULL, *y = NULL;

	if (key_coords(k->pkey, &x, &y) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x, "y",
			 y, "kid", k->kid, "use", "sig", "alg", "ES256");
}

/* RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace. */
static int key_thumbprint(EVP_PKEY *pkey, char *kid, size_t len)
{
	_cleanup_free_ char *x = NULL, *y = NULL, *canon = NULL, *t = NULL;
	uint8_t md[SHA256_DIGEST_LENGTH];

	if (key_coords(pkey, &x, &y) < 0)
		return -EINVAL;
	canon = strdup_printf("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	if (!canon)
		return -ENOMEM;
	SHA256((const uint8_t *)canon, strlen(canon), md);
	t = b64url_encode(md, sizeof(md));
	if (!t || strlen(t) >= len)
		return -ENOMEM;
	snprintf(kid, len, "%s", t);
	return 0;
}

static int key_load(const char *path, int64_t created, struct issuer_key *k)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *pkey;

	if (!f)
		return -errno;
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey)
		return -EINVAL;
	if (!EVP_PKEY_is_a(pkey, "EC") || EVP_PKEY_get_bits(pkey) != 256 ||
	    key_thumbprint(pkey, k->kid, sizeof(k->kid)) < 0) {
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}
	k->pkey = pkey;
	k->created = created;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct issuer_key *x = a, *y = b;

	return x->created < y->created ? -1 : x->created > y->created;
}

int issuer_open(const char *url, const char *dir, int64_t rotate_s, struct issuer *ret, char *err,
		size_t errlen)
{
	DIR *d;
	struct dirent *de;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->url = strdup(url);
	ret->dir = strdup(dir);
	ret->rotate_s = rotate_s;
	if (!ret->url || !ret->dir)
		return -ENOMEM;
	r = mkdir_p(dir, 0700);
	if (r == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
		r = -errno;
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot create the key directory: %s", dir, strerror(-r));
		return r;
	}
	d = opendir(dir);
	if (!d) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		char *end;
		long long created = strtoll(de->d_name, &end, 10);
		size_t l = strlen(de->d_name);

		if (*end != '-' || created <= 0 || l < 5 || strcmp(de->d_name + l - 4, ".pem"))
			continue; /* not one of ours */
		if (ret->n == ISSUER_KEYS_MAX) {
			snprintf(err, errlen, "%s: more than %d keys", dir, ISSUER_KEYS_MAX);
			r = -E2BIG;
			break;
		}
		path = strdup_printf("%s/%s", dir, de->d_name);
		r = path ? key_load(path, created, &ret->keys[ret->n]) : -ENOMEM;
		if (r < 0) {
			snprintf(err, errlen, "%s: not a P-256 private key in PEM", path ? path : de->d_name);
			break;
		}
		ret->n++;
	}
	closedir(d);
	qsort(ret->keys, ret->n, sizeof(ret->keys[0]), key_cmp);
	return r;
}

/* A fresh key, written 0600 under a temporary name and renamed: never half a file. */
static int key_create(struct issuer *is, int64_t now, char *err, size_t errlen)
{
	struct issuer_key *k = &is->keys[is->n];
	_cleanup_free_ char *tmp = NULL, *path = NULL;
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	FILE *f = NULL;
	int fd, r = -EIO;

	if (!pkey || key_thumbprint(pkey, k->kid, sizeof(k->kid)) < 0)
		goto out;
	tmp = strdup_printf("%s/.new-%lld.pem", is->dir, (long long)now);
	path = strdup_printf("%s/%lld-%s.pem", is->dir, (long long)now, k->kid);
	if (!tmp || !path) {
		r = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) != 0 ||
	    fsync(fileno(f)) < 0)
		goto out;
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto out;
	}
	k->pkey = TAKE_PTR(pkey);
	k->created = now;
	is->n++;
	r = 0;
out:
	if (f)
		fclose(f);
	if (r < 0) {
		if (tmp)
			unlink(tmp);
		snprintf(err, errlen, "%s: cannot write a new signing key: %s", is->dir, strerror(-r));
	}
	EVP_PKEY_free(pkey);
	return r;
}

static void key_remove(struct issuer *is, size_t i)
{
	_cleanup_free_ char *path = strdup_printf("%s/%lld-%s.pem", is->dir,
						  (long long)is->keys[i].created, is->keys[i].kid);

	if (path)
		unlink(path);
	EVP_PKEY_free(is->keys[i].pkey);
	memmove(&is->keys[i], &is->keys[i + 1], (is->n - i - 1) * sizeof(is->keys[0]));
	is->n--;
}

/* A key signs once it has been published for a token's lifetime; the first key at once. */
const struct issuer_key *issuer_signing_key(const struct issuer *is, int64_t now)
{
	for (size_t i = is->n; i > 0; i--)
		if (is->keys[i - 1].created + ISSUER_LIFETIME_MAX <= now)
			return &is->keys[i - 1];
	return is->n ? &is->keys[0] : NULL;
}

int issuer_rotate(struct issuer *is, int64_t now, char *err, size_t errlen)
{
	int changed = 0, r;

	/* a key whose successor has signed for a whole lifetime signed nothing still valid */
	while (is->n > 1 && is->keys[1].created + 2LL * ISSUER_LIFETIME_MAX <= now) {
		key_remove(is, 0);
		changed++;
	}
	/* the next key, published a lifetime before the newest one's turn is over */
	if (is->n == 0 ||
	    (is->n < ISSUER_KEYS_MAX &&
	     is->keys[is->n - 1].created + is->rotate_s - ISSUER_LIFETIME_MAX <= now &&
	     is->keys[is->n - 1].created + ISSUER_LIFETIME_MAX <= now)) {
		r = key_create(is, now, err, errlen);
		if (r < 0)
			return r;
		changed++;
	}
	return changed;
}

/* ECDSA's DER signature as JWS wants it: r and s, 32 bytes each. */
static int sig_der_to_raw(const uint8_t *der, size_t len, uint8_t raw[2 * P256_COORD])
{
	const uint8_t *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (!sig)
		return -EINVAL;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, P256_COORD) == P256_COORD &&
	     BN_bn2binpad(s, raw + P256_COORD, P256_COORD) == P256_COORD;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -EINVAL;
}

int issuer_sign(const struct issuer *is, int64_t now, json_t *claims, char **ret)
{
	const struct issuer_key *k = issuer_signing_key(is, now);
	_cleanup_free_ char *hdr = NULL, *payload = NULL, *h64 = NULL, *p64 = NULL, *input = NULL,
			    *s64 = NULL;
	uint8_t der[80], raw[2 * P256_COORD];
	size_t der_len = sizeof(der);
	EVP_MD_CTX *md;
	int ok;

	if (!k)
		return -ENOKEY;
	hdr = strdup_printf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", k->kid);
	payload = json_dumps(claims, JSON_COMPACT);
	if (!hdr || !payload)
		return -ENOMEM;
	h64 = b64url_encode((const uint8_t *)hdr, strlen(hdr));
	p64 = b64url_encode((const uint8_t *)payload, strlen(payload));
	input = h64 && p64 ? strdup_printf("%s.%s", h64, p64) : NULL;
	md = EVP_MD_CTX_new();
	if (!input || !md) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
	     EVP_DigestSign(md, der, &der_len, (const uint8_t *)input, strlen(input)) == 1;
	EVP_MD_CTX_free(md);
	if (!ok || sig_der_to_raw(der, der_len, raw) < 0)
		return -EIO;
	s64 = b64url_encode(raw, sizeof(raw));
	*ret = s64 ? strdup_printf("%s.%s", input, s64) : NULL;
	return *ret ? 0 : -ENOMEM;
}

json_t *issuer_jwks(const struct issuer *is)
{
	json_t *keys = json_array();

	for (size_t i = 0; keys && i < is->n; i++)
		json_array_append_new(keys, key_jwk(&is->keys[i]));
	return keys ? json_pack("{s:o}", "keys", keys) : NULL;
}

json_t *issuer_discovery(const struct issuer *is)
{
	size_t l = strlen(is->url);
	_cleanup_free_ char *jwks = strdup_printf("%.*s/.well-known/jwks.json",
						  (int)(l && is->url[l - 1] == '/' ? l - 1 : l), is->url);

	return jwks ? json_pack("{s:s, s:s, s:[s], s:[s], s:[s], s:[s,s,s,s,s,s,s,s,s,s,s]}", "issuer",
				is->url, "jwks_uri", jwks, "id_token_signing_alg_values_supported", "ES256",
				"response_types_supported", "id_token", "subject_types_supported", "public",
				"claims_supported", "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "act",
				"src", "src_iss", "mcpfence_policy")
		    : NULL;
}

static int write_json(const char *path, json_t *doc)
{
	_cleanup_free_ char *tmp = strdup_printf("%s.tmp", path);
	int r;

	if (!tmp || !doc)
		return -ENOMEM;
	r = json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 ? 0 : -EIO;
	if (r == 0 && (chmod(tmp, 0644) < 0 || rename(tmp, path) < 0))
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int issuer_export(const struct issuer *is, const char *dir, char *err, size_t errlen)
{
	_cleanup_free_ char *wk = strdup_printf("%s/.well-known", dir);
	_cleanup_free_ char *conf = strdup_printf("%s/.well-known/openid-configuration", dir);
	_cleanup_free_ char *keys = strdup_printf("%s/.well-known/jwks.json", dir);
	json_t *disc = issuer_discovery(is), *jwks = issuer_jwks(is);
	int r = wk && conf && keys ? mkdir_p(wk, 0755) : -ENOMEM;

	if (r == 0 && mkdir(wk, 0755) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0)
		r = write_json(keys, jwks); /* the keys first: the discovery document points there */
	if (r == 0)
		r = write_json(conf, disc);
	if (r < 0)
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
	json_decref(disc);
	json_decref(jwks);
	return r;
}

void issuer_clear(struct issuer *is)
{
	for (size_t i = 0; i < is->n; i++)
		EVP_PKEY_free(is->keys[i].pkey);
	free(is->url);
	free(is->dir);
	memset(is, 0, sizeof(*is));
}
