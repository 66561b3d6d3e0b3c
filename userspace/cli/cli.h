/* SPDX-License-Identifier: MIT */
/* What every command shares: the command table, --json output and error reporting. */
#ifndef MCPFENCE_CLI_H
#define MCPFENCE_CLI_H

#include <jansson.h>
#include <stdbool.h>

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* Dispatch argv[0] through a table; prints the table as help for -h/--help/help. */
int cmd_dispatch(const char *prefix, const struct cmd *cmds, int argc, char **argv);

/*
 * One option of a command: `--name VALUE` (or `-k VALUE`) stores VALUE in *(const char **)dst;
 * a flag sets *(bool *)dst. --json and --help belong to every command.
 */
struct cli_opt {
	const char *name;
	char key;
	bool takes_value;
	void *dst;
	bool many; /* repeatable: dst is a struct cli_values */
};

#define CLI_VALUES_MAX 8
struct cli_values {
	const char *v[CLI_VALUES_MAX];
	size_t n;
};
#define CLI_STOP_AT_ARG 1u /* options end at the first argument (run: CMD's own options) */
/* Returns the index of the first argument, 0 after printing help, -1 on a bad option (getopt
 * has said why). */
int cli_options(int argc, char **argv, const struct cli_opt *opts, unsigned flags,
		void (*help)(void));

extern bool cli_json;
/* Report a failure: text on stderr, or {"error": "..."} on stdout with --json. Returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a result: JSON as is with --json, else through the text printer. Steals `doc`. */
void cli_print(json_t *doc, void (*text)(json_t *doc));

struct agent_config;
/* The agent config named by --config, or the documented defaults without one; reports the
 * first error itself. */
int cli_config_load(const char *file, struct agent_config *cfg);
/* The attestation socket: `sock` when given, else the config's (owned copy in *owned). NULL
 * after reporting why. */
const char *cli_attest_socket(const char *sock, const char *config, char **owned);
/* The agent's control socket, the same way. */
const char *cli_agent_socket(const char *sock, const char *config, char **owned);

int cmd_agent(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int policy_audit_cmd(int argc, char **argv); /* cmd_audit.c */
int cmd_uninstall(int argc, char **argv);
int cmd_jws(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_oci_hook(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_events(int argc, char **argv);

/* shared by attest and run --token-file */
int attest_token_load(const char *file, char **ret);
int attest_request(const char *sock, const char *token, json_t **ret_reply, char *why, size_t len);
int cmd_token(int argc, char **argv);
int cmd_issuer(int argc, char **argv);

#endif
