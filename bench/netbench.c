// SPDX-License-Identifier: MIT
/*
 * netbench: time N operations of one kind from the calling process (which the driver has put
 * in the cgroup under test) and print the mean ns per operation.
 *
 *   netbench tcp ADDR PORT N          socket + connect + close (RST, no TIME_WAIT)
 *   netbench udp-connect ADDR PORT N  connect() of one UDP socket, repeated
 *   netbench udp-sendto ADDR PORT N   sendto() of one unconnected UDP socket
 *   netbench tcp-send ADDR PORT N     send() of one byte on one established TCP connection
 *                                     (TCP_NODELAY: one packet each), to a sink
 *   netbench listen ADDR PORT         accept and drop TCP connections, drain UDP (600 s max)
 *   netbench sink ADDR PORT           accept TCP connections and read them to the end (600 s max)
 *   netbench storm ADDR PORT MS       denied TCP connects as fast as possible for MS ms:
 *                                     prints attempts and how many got EPERM
 *
 * The expected errno (0 on the allowed path, EPERM on the denied one) is checked on every
 * operation: a measurement of the wrong verdict is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static socklen_t make_addr(const char *a, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, a, &s6->sin6_addr);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, a, &s4->sin_addr);
	return sizeof(*s4);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *drain_udp(void *arg)
{
	int fd = *(int *)arg;
	char buf[2048];

	for (;;)
		if (recv(fd, buf, sizeof(buf), 0) < 0 && errno != EINTR)
			return NULL;
}

static int listen_mode(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, port, &ss);
	int t = socket(ss.ss_family, SOCK_STREAM, 0), u = socket(ss.ss_family, SOCK_DGRAM, 0), one = 1;
	int big = 8 << 20;
	pthread_t th;
	time_t end = time(NULL) + 600;

	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(u, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(t, (struct sockaddr *)&ss, len) < 0 || listen(t, 4096) < 0 ||
	    bind(u, (struct sockaddr *)&ss, len) < 0) {
		perror("listen");
		return 1;
	}
	pthread_create(&th, NULL, drain_udp, &u);
	printf("READY\n");
	fflush(stdout);
	while (time(NULL) < end) {
		struct pollfd p = { .fd = t, .events = POLLIN };

		if (poll(&p, 1, 1000) > 0) {
			int c = accept(t, NULL, NULL);

			if (c >= 0)
				close(c);
		}
	}
	return 0;
}

/* One connection at a time, read to its end: the peer of tcp-send. */
static int sink_mode(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, port, &ss);
	int t = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
	char buf[65536];
	time_t end = time(NULL) + 600; /* bounded, as listen: a forgotten sink dies by itself */

	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(t, (struct sockaddr *)&ss, len) < 0 || listen(t, 16) < 0) {
		perror("sink");
		return 1;
	}
	while (time(NULL) < end) {
		struct pollfd p = { .fd = t, .events = POLLIN };
		int c;

		if (poll(&p, 1, 1000) <= 0 || (c = accept(t, NULL, NULL)) < 0)
			continue;
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long n, wrong = 0;
	int want, fd = -1, first_wrong = 0;
	double t0, t1;
	const char *op;

	if (argc == 4 && !strcmp(argv[1], "listen"))
		return listen_mode(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "sink"))
		return sink_mode(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "storm")) {
		double end;
		long attempts = 0, eperm = 0;

		len = make_addr(argv[2], atoi(argv[3]), &ss);
		end = now() + atof(argv[4]) * 1e6;
		while (now() < end) {
			for (int i = 0; i < 64; i++) {
				int s = socket(ss.ss_family, SOCK_STREAM, 0);

				eperm += connect(s, (struct sockaddr *)&ss, len) < 0 && errno == EPERM;
				close(s);
				attempts++;
			}
		}
		printf("attempts=%ld\neperm=%ld\n", attempts, eperm);
		return 0;
	}
	if (argc != 6) {
		fprintf(stderr, "usage: netbench tcp|udp-connect|udp-sendto|tcp-send ADDR PORT N allow|deny|fail\n");
		return 2;
	}
	op = argv[1];
	len = make_addr(argv[2], atoi(argv[3]), &ss);
	n = atol(argv[4]);
	/* allow: success; deny: EPERM exactly; fail: any error (nftables/iptables reject) */
	want = !strcmp(argv[5], "deny") ? EPERM : !strcmp(argv[5], "fail") ? -1 : 0;
	if (!strcmp(op, "tcp-send")) {
		int one = 1;

		/* the flow is opened before the clock starts: only its packets are timed */
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (want != 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
			fprintf(stderr, "netbench: tcp-send needs an allowed flow: %s\n",
				want ? "only the allow path is timed" : strerror(errno));
			return 1;
		}
	} else if (strcmp(op, "tcp")) {
		fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	}
	t0 = now();
	for (long i = 0; i < n; i++) {
		int e = 0;

		if (!strcmp(op, "tcp")) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			int s = socket(ss.ss_family, SOCK_STREAM, 0);

			if (connect(s, (struct sockaddr *)&ss, len) < 0)
				e = errno;
			setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(s);
		} else if (!strcmp(op, "udp-connect")) {
			if (connect(fd, (struct sockaddr *)&ss, len) < 0)
				e = errno;
		} else if (!strcmp(op, "tcp-send")) {
			if (send(fd, "x", 1, 0) < 0)
				e = errno;
		} else {
			if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0)
				e = errno;
		}
		if (want == -1 ? e == 0 : e != want && !(want == 0 && e == ENOBUFS)) {
			if (!wrong++)
				first_wrong = e;
		}
	}
	t1 = now();
	if (wrong) {
		fprintf(stderr, "netbench: %ld of %ld operations got the wrong verdict (the first: %s)\n",
			wrong, n, first_wrong ? strerror(first_wrong) : "success");
		return 1;
	}
	printf("%.0f\n", (t1 - t0) / (double)n);
	return 0;
}
