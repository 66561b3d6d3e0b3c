// SPDX-License-Identifier: MIT
/*
 * Identity benchmarks.
 *
 *   bench_verify rates SECONDS ROUNDS tokens verified per second on one core through the full
 *                                     token_verify() path (parse, key, signature, claims), next
 *                                     to the raw EVP_DigestVerify rate of the same key and
 *                                     message, for RS256, PS256, ES256 and EdDSA, the two measured
 *                                     in alternation, ROUNDS times each. JSON lines.
 *   bench_verify mint DIR             an ES256 key's JWKS (DIR/issuer.jwks) and a token for
 *                                     sub "bench" (DIR/token.jwt), for the attestation bench
 *   bench_verify attest SOCK TOKEN RATE SECONDS
 *                                     attestations paced at RATE per second through the agent
 *   bench_verify token SOCK AUDIENCE RATE SECONDS
 *                                     credential requests (the token op) paced the same way
 *                                     socket; prints latency p50/p99/max in microseconds
 */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "../tests/lib/jwtmint.h"
#include "jws.h"
#include "trust.h"
#include "util.h"

#define ISS "https://bench.mcpfence.test"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *keygen(enum jws_alg alg)
{
	if (alg == JWS_RS256 || alg == JWS_PS256)
		return EVP_RSA_gen(2048);
	if (alg == JWS_ES256)
		return EVP_EC_gen("P-256");
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

static char *claims(int64_t lifetime)
{
	int64_t now = time(NULL);

	return strdup_printf("{\"iss\":\"" ISS "\",\"aud\":\"mcpfence\",\"sub\":\"bench\",\"iat\":%lld,"
			     "\"exp\":%lld}", (long long)now, (long long)(now + lifetime));
}

/* The raw primitive, as OpenSSL's own loop would run it: same key, message, signature. */
static double raw_rate(enum jws_alg alg, EVP_PKEY *key, const struct jws *j, double secs)
{
	const char *md = alg == JWS_EDDSA ? NULL : "SHA256";
	unsigned char der[80];
	const unsigned char *sig = j->sig;
	size_t sl = j->sig_len;
	long n = 0;
	double t0 = now_s(), t;

	if (alg == JWS_ES256) { /* r||s to DER once, outside the loop: what OpenSSL verifies */
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *p = der;

		ECDSA_SIG_set0(es, BN_bin2bn(j->sig, 32, NULL), BN_bin2bn(j->sig + 32, 32, NULL));
		sl = (size_t)i2d_ECDSA_SIG(es, &p);
		sig = der;
		ECDSA_SIG_free(es);
	}
	do {
		for (int i = 0; i < 100; i++) {
			EVP_MD_CTX *ctx = EVP_MD_CTX_new();
			EVP_PKEY_CTX *pctx = NULL;

			EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, key, NULL);
			if (alg == JWS_PS256) {
				EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
				EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
			}
			if (EVP_DigestVerify(ctx, sig, sl, (const unsigned char *)j->signing_input,
					     j->signing_input_len) != 1)
				fprintf(stderr, "raw verify failed\n");
			EVP_MD_CTX_free(ctx);
		}
		n += 100;
		t = now_s() - t0;
	} while (t < secs);
	return (double)n / t;
}

static int cmp_double(const void *a, const void *b);

static double ours_rate(struct trust *t, const char *tok, double secs)
{
	struct token out;
	long n = 0;
	double t0 = now_s(), el;

	do {
		for (int k = 0; k < 100; k++) {
			if (token_verify(t, tok, strlen(tok), time(NULL), &out, NULL, 0) != VERIFY_OK) {
				fprintf(stderr, "bench: token did not verify\n");
				return 0;
			}
			token_clear(&out);
		}
		n += 100;
		el = now_s() - t0;
	} while (el < secs);
	return (double)n / el;
}

static int rates(double secs, int rounds)
{
	static const enum jws_alg algs[] = { JWS_RS256, JWS_PS256, JWS_ES256, JWS_EDDSA };
	char dir[] = "/tmp/mcpf-bench-XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		enum jws_alg alg = algs[i];
		EVP_PKEY *key = keygen(alg);
		json_t *set = json_pack("{s:[o]}", "keys", jwtmint_jwk(key, "k", alg)), *cfg;
		char *path = strdup_printf("%s/k.jwks", dir), *hdr, *pl, *tok;
		struct trust t = {};
		struct diag errs = {};
		struct jws parsed;
		double ours[64], raw[64];

		json_dump_file(set, path, 0);
		cfg = json_pack("{s:[{s:s, s:s}]}", "issuers", "issuer", ISS, "jwks_file", path);
		trust_load(cfg, NULL, &t, &errs);
		hdr = strdup_printf("{\"alg\":\"%s\",\"kid\":\"k\",\"typ\":\"JWT\"}", jws_alg_name(alg));
		pl = claims(600);
		tok = jwtmint_sign(key, alg, hdr, pl);
		jws_parse(tok, strlen(tok), true, &parsed);
		if (rounds > 64)
			rounds = 64;
		for (int r = 0; r < rounds; r++) { /* alternate: both see the same machine */
			ours[r] = ours_rate(&t, tok, secs);
			raw[r] = raw_rate(alg, key, &parsed, secs);
			if (!ours[r])
				return 1;
		}
		qsort(ours, (size_t)rounds, sizeof(double), cmp_double);
		qsort(raw, (size_t)rounds, sizeof(double), cmp_double);
		printf("{\"alg\":\"%s\",\"ours_median\":%.0f,\"ours_min\":%.0f,\"ours_max\":%.0f,"
		       "\"raw_median\":%.0f,\"raw_min\":%.0f,\"raw_max\":%.0f,\"ratio\":%.3f}\n",
		       jws_alg_name(alg), ours[rounds / 2], ours[0], ours[rounds - 1], raw[rounds / 2],
		       raw[0], raw[rounds - 1], ours[rounds / 2] / raw[rounds / 2]);
		jws_clear(&parsed);
		trust_clear(&t);
		json_decref(cfg);
		json_decref(set);
		EVP_PKEY_free(key);
		free(path);
		free(hdr);
		free(pl);
		free(tok);
	}
	{
		char *cmd = strdup_printf("rm -rf %s", dir);

		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
		free(cmd);
	}
	return 0;
}

static int mint(const char *dir)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	json_t *set = json_pack("{s:[o]}", "keys", jwtmint_jwk(key, "bench", JWS_ES256));
	char *jwks = strdup_printf("%s/issuer.jwks", dir), *tp = strdup_printf("%s/token.jwt", dir);
	char *pl = claims(3600);
	char *tok = jwtmint_sign(key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"bench\"}", pl);
	FILE *f = fopen(tp, "w");

	json_dump_file(set, jwks, 0);
	if (!f)
		return 1;
	fputs(tok, f);
	fclose(f);
	printf("%s\n", ISS);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One request line per connection, paced at RATE for SECONDS: latency of each whole exchange. */
static int paced(const char *sock, const char *req, double rate, double secs, const char *what)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = (size_t)(rate * secs), ok = 0;
	double *lat = calloc(n, sizeof(double)), start;
	struct timespec next;
	char buf[4096];

	if (!lat || !n)
		return 1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	clock_gettime(CLOCK_MONOTONIC, &next);
	start = now_s();
	for (size_t i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		double t0 = now_s();
		ssize_t k;

		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    send(fd, req, strlen(req), 0) > 0 && (k = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[k] = 0;
			ok += strstr(buf, "\"ok\":true") != NULL;
		}
		lat[i] = (now_s() - t0) * 1e6;
		close(fd);
		/* paced at RATE: an absolute schedule, so a slow reply does not slow the offered load */
		next.tv_nsec += (long)(1e9 / rate);
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("{\"%s\":%zu,\"ok\":%zu,\"offered_per_s\":%.0f,\"achieved_per_s\":%.0f,"
	       "\"p50_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f}\n",
	       what, n, ok, rate, (double)n / (now_s() - start), lat[n / 2],
	       lat[(size_t)((double)n * 0.99)], lat[n - 1]);
	free(lat);
	return ok == n ? 0 : 1;
}

static int attest(const char *sock, const char *token_file, double rate, double secs)
{
	char *token = NULL, *req;
	size_t len;
	int r;

	if (read_file(token_file, 65536, &token, &len) < 0)
		return 1;
	req = strdup_printf("{\"op\":\"attest\",\"token\":\"%s\"}\n", token);
	r = req ? paced(sock, req, rate, secs, "attestations") : 1;
	free(req);
	free(token);
	return r;
}

/* Credentials minted for the caller's cgroup (bound by the attestation bench before). */
static int credentials(const char *sock, const char *audience, double rate, double secs)
{
	char *req = strdup_printf("{\"op\":\"token\",\"audience\":\"%s\"}\n", audience);
	int r = req ? paced(sock, req, rate, secs, "credentials") : 1;

	free(req);
	return r;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "rates"))
		return rates(atof(argv[2]), atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "mint"))
		return mint(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "attest"))
		return attest(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
	if (argc == 6 && !strcmp(argv[1], "token"))
		return credentials(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: see bench/bench_verify.c\n");
	return 2;
}
