// SPDX-License-Identifier: MIT
/*
 * netprobe: one network operation per call, for the integration tests. Prints one word, the
 * outcome: OK or the errno name (EPERM, ECONNREFUSED, ...), or key=value lines for loops.
 *
 *   netprobe tcp ADDR PORT            TCP connect (IPv4, IPv6, or ::ffff:a.b.c.d on AF_INET6)
 *   netprobe udp-connect ADDR PORT    UDP connect() then send()
 *   netprobe udp-sendto ADDR PORT     unconnected UDP sendto()
 *   netprobe udp6-sendto-mapped A P   AF_INET6 UDP sendto ::ffff:A (runs the sendmsg4 hook)
 *   netprobe sendmmsg ADDR P1 P2      one sendmmsg() with a datagram to each port: SENT=n
 *   netprobe tfo ADDR PORT            TCP fast open: sendto(MSG_FASTOPEN)
 *   netprobe uring ADDR PORT          io_uring IORING_OP_CONNECT
 *   netprobe fork-tcp ADDR PORT       a forked child connects
 *   netprobe raw4 | raw6 | icmp4 | packet   create such a socket
 *   netprobe escape PROCS_FILE        write our pid to another cgroup's cgroup.procs
 *   netprobe listen ADDR PORT...      TCP and UDP echo listeners until killed (or after
 *                                     $NETPROBE_LISTEN_SECONDS, 300 by default)
 *   netprobe loop ALLOW_A P DENY_A P MS   connect to both for MS ms: RUNNING, then attempts=, wrong=
 *   netprobe flood ADDR PORT N        N connects as fast as possible: attempts=, eperm=
 *   netprobe echo-hold ADDR PORT MS   TCP connection echoing a message every 50 ms; prints
 *                                     CONNECTED after the first echo, then echoed=N cut=0|1
 *                                     (cut: an echo did not come back in 1 s)
 * Containment (what a hostile workload would try):
 *   netprobe rthdr6 ADDR6 VIA6 PORT   UDP sendto ADDR6 with a sticky segment routing header
 *                                     whose next segment is VIA6 (setsockopt IPV6_RTHDR)
 *   netprobe ipopt4 ADDR VIA PORT     UDP sendto ADDR with sticky loose source routing via VIA
 *                                     (setsockopt IP_OPTIONS)
 *   netprobe lsrr4-cmsg ADDR VIA PORT the same per datagram, as ancillary data (IP_RETOPTS)
 *   netprobe mptcp ADDR PORT          MPTCP socket and connect
 *   netprobe vsock                    create an AF_VSOCK socket
 *   netprobe hold-socket              print "PID FD" of an unconnected TCP socket, then sleep
 *   netprobe steal PID FD ADDR PORT   pidfd_getfd() that socket and connect it
 *   netprobe pass-socket PATH         serve one unconnected TCP socket over a Unix socket
 *   netprobe recv-socket PATH ADDR PORT   receive that socket (SCM_RIGHTS) and connect it
 *   netprobe unix-send PATH LINE      send one line to a Unix stream socket, print the reply
 *   netprobe setuid UID               setresgid+setresuid to UID: OK or the errno
 * Misuse prints "netprobe: bad arguments" and exits 2; the suites count that as a failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

static const char *errname(int e)
{
	switch (e) {
	case 0:
		return "OK";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ENETUNREACH:
		return "ENETUNREACH";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EINPROGRESS:
		return "EINPROGRESS";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case ENOENT:
		return "ENOENT";
	case EINVAL:
		return "EINVAL";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case ENOSYS:
		return "ENOSYS";
	case ESRCH:
		return "ESRCH";
	case ENOTSOCK:
		return "ENOTSOCK";
	case EPROTONOSUPPORT:
		return "EPROTONOSUPPORT";
	}
	return strerror(e);
}

/* ADDR with '.' only: IPv4; "::ffff:..." or other ':' forms: IPv6. */
static int make_addr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return -1;
		*len = sizeof(*s6);
		return AF_INET6;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
		return -1;
	*len = sizeof(*s4);
	return AF_INET;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int stream_connect(const char *addr, int port, int protocol)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = make_addr(addr, port, &ss, &len), fd, e = 0;

	if (fam < 0)
		return EINVAL;
	fd = socket(fam, SOCK_STREAM, protocol);
	if (fd < 0)
		return errno;
	set_timeouts(fd, 2000);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		e = errno;
	close(fd);
	return e;
}

static int tcp_connect(const char *addr, int port)
{
	return stream_connect(addr, port, 0);
}

static int udp_op(const char *addr, int port, int connected, int force_v6)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char mapped[64];
	int fam, fd, e = 0;

	if (force_v6) {
		snprintf(mapped, sizeof(mapped), "::ffff:%s", addr);
		addr = mapped;
	}
	fam = make_addr(addr, port, &ss, &len);
	if (fam < 0)
		return EINVAL;
	fd = socket(fam, SOCK_DGRAM, 0);
	if (fd < 0)
		return errno;
	if (connected) {
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			e = errno;
		else if (send(fd, "x", 1, 0) < 0)
			e = errno;
	} else if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0) {
		e = errno;
	}
	close(fd);
	return e;
}

static int do_sendmmsg(const char *addr, int p1, int p2)
{
	struct sockaddr_storage ss[2];
	struct mmsghdr msgs[2];
	struct iovec iov[2];
	socklen_t len;
	int fam, fd, n;

	memset(msgs, 0, sizeof(msgs));
	fam = make_addr(addr, p1, &ss[0], &len);
	make_addr(addr, p2, &ss[1], &len);
	if (fam < 0)
		return -1;
	fd = socket(fam, SOCK_DGRAM, 0);
	for (int i = 0; i < 2; i++) {
		iov[i].iov_base = "y";
		iov[i].iov_len = 1;
		msgs[i].msg_hdr.msg_name = &ss[i];
		msgs[i].msg_hdr.msg_namelen = len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	n = sendmmsg(fd, msgs, 2, 0);
	if (n < 0)
		printf("%s\n", errname(errno));
	else
		printf("SENT=%d\n", n);
	close(fd);
	return 0;
}

static int tfo(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = make_addr(addr, port, &ss, &len), fd, e = 0;

	fd = socket(fam, SOCK_STREAM, 0);
	set_timeouts(fd, 2000);
	if (sendto(fd, "hello", 5, MSG_FASTOPEN, (struct sockaddr *)&ss, len) < 0)
		e = errno;
	close(fd);
	return e;
}

static int uring_connect(const char *addr, int port)
{
	struct sockaddr_storage ss;
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	socklen_t len;
	int fam = make_addr(addr, port, &ss, &len), fd, r;

	fd = socket(fam, SOCK_STREAM, 0);
	if (io_uring_queue_init(4, &ring, 0) < 0)
		return ENOSYS;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&ss, len);
	/* force the async worker path: the io-wq thread must resolve to our cgroup too */
	sqe->flags |= IOSQE_ASYNC;
	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &cqe) < 0)
		return EIO;
	r = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(fd);
	return r < 0 ? -r : 0;
}

static int make_socket(const char *kind)
{
	int fd;

	if (!strcmp(kind, "raw4"))
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	else if (!strcmp(kind, "raw6"))
		fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	else if (!strcmp(kind, "icmp4"))
		fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	else
		fd = socket(AF_PACKET, SOCK_RAW, htons(0x0003));
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int escape(const char *procs)
{
	char buf[32];
	int fd = open(procs, O_WRONLY), e = 0;

	if (fd < 0)
		return errno;
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (write(fd, buf, strlen(buf)) < 0)
		e = errno;
	close(fd);
	return e;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Allowed must never see EPERM, denied must always see it. */
static int loop(const char *aa, int ap, const char *da, int dp, int ms)
{
	long attempts = 0, wrong = 0;
	double end = now_ms() + ms;

	while (now_ms() < end) {
		int ea = tcp_connect(aa, ap), ed = tcp_connect(da, dp);

		if (attempts == 0)
			printf("RUNNING\n");
		attempts += 2;
		if (ea == EPERM || ea == EACCES) {
			wrong++;
			fprintf(stderr, "allowed %s:%d got %s\n", aa, ap, errname(ea));
		}
		if (ed != EPERM) {
			wrong++;
			fprintf(stderr, "denied %s:%d got %s\n", da, dp, errname(ed));
		}
	}
	printf("attempts=%ld\nwrong=%ld\n", attempts, wrong);
	return 0;
}

static int flood(const char *addr, int port, long n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = make_addr(addr, port, &ss, &len);
	long eperm = 0;
	double t0 = now_ms();

	for (long i = 0; i < n; i++) {
		int fd = socket(fam, SOCK_STREAM, 0);

		if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno == EPERM)
			eperm++;
		close(fd);
	}
	printf("attempts=%ld\neperm=%ld\nms=%.0f\n", n, eperm, now_ms() - t0);
	return 0;
}

static int echo_hold(const char *addr, int port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = make_addr(addr, port, &ss, &len), fd;
	long echoed = 0;
	double end = now_ms() + ms;
	char buf[16];

	fd = socket(fam, SOCK_STREAM, 0);
	set_timeouts(fd, 1000);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		printf("%s\n", errname(errno));
		return 0;
	}
	while (now_ms() < end) {
		if (send(fd, "ping", 4, MSG_NOSIGNAL) != 4 || recv(fd, buf, 4, MSG_WAITALL) != 4) {
			printf("echoed=%ld\ncut=1\n", echoed);
			fflush(stdout);
			close(fd);
			return 0;
		}
		if (echoed++ == 0)
			printf("CONNECTED\n"); /* for the suites to wait on */
		usleep(50000);
	}
	printf("echoed=%ld\ncut=0\n", echoed);
	close(fd);
	return 0;
}

static int listen_all(int argc, char **argv)
{
	struct pollfd pfd[256];
	int kind[256], n = 0;
	const char *addr = argv[0];
	const char *life = getenv("NETPROBE_LISTEN_SECONDS");
	/* bounded: a forgotten listener dies by itself */
	double end = now_ms() + 1000.0 * (life && atoi(life) > 0 ? atoi(life) : 300);

	for (int i = 1; i < argc && n + 2 < 256; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fam = make_addr(addr, atoi(argv[i]), &ss, &len), one = 1;

		for (int t = 0; t < 2; t++) {
			int fd = socket(fam, (t ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);

			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (!t)
				setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &(int){ 16 }, sizeof(int));
			if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (!t && listen(fd, 1024) < 0)) {
				fprintf(stderr, "listen %s:%s: %s\n", addr, argv[i], strerror(errno));
				return 1;
			}
			pfd[n].fd = fd;
			pfd[n].events = POLLIN;
			kind[n++] = t ? 1 : 0;
		}
	}
	printf("READY\n");
	fflush(stdout);
	while (now_ms() < end) {
		int k = poll(pfd, (nfds_t)n, 1000);

		if (k <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			char buf[2048];

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (kind[i] == 0) { /* listener: accept all that wait, each an echo connection */
				int c;

				while ((c = accept4(pfd[i].fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (n < 256) {
						pfd[n].fd = c;
						pfd[n].events = POLLIN;
						pfd[n].revents = 0;
						kind[n++] = 2;
					} else {
						close(c);
					}
				}
			} else if (kind[i] == 1) { /* UDP: read and drop all that wait */
				while (recv(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
					;
			} else { /* TCP echo */
				ssize_t r = recv(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT);

				if (r > 0)
					send(pfd[i].fd, buf, (size_t)r, MSG_NOSIGNAL | MSG_DONTWAIT);
				else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					close(pfd[i].fd);
					pfd[i] = pfd[n - 1];
					kind[i] = kind[n - 1];
					n--;
					i--;
				}
			}
		}
	}
	return 0;
}

#ifndef IPV6_RTHDR
#define IPV6_RTHDR 57
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* A datagram to ADDR whose IP header names VIA: the sticky or per-datagram routing options. */
static int reroute_send(const char *kind, const char *addr, const char *via, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = make_addr(addr, port, &ss, &len), fd, e = 0;
	char msg[] = "x";

	if (fam < 0)
		return EINVAL;
	fd = socket(fam, SOCK_DGRAM, 0);
	if (fd < 0)
		return errno;
	if (!strcmp(kind, "rthdr6")) {
		/* segment routing header: segments[0] becomes the final destination (ADDR), the
		 * IPv6 header carries segments[segments_left] = VIA */
		struct {
			uint8_t nexthdr, hdrlen, type, segments_left, last_entry, flags;
			uint16_t tag;
			struct in6_addr seg[2];
		} srh = { .hdrlen = 4, .type = 4, .segments_left = 1, .last_entry = 1 };

		if (inet_pton(AF_INET6, via, &srh.seg[1]) != 1)
			return EINVAL;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RTHDR, &srh, sizeof(srh)) < 0)
			e = errno;
	} else {
		/* loose source route: NOP, LSRR, length 7, pointer 4, VIA */
		uint8_t opt[8] = { 1, 0x83, 7, 4 };

		if (inet_pton(AF_INET, via, opt + 4) != 1)
			return EINVAL;
		if (!strcmp(kind, "ipopt4")) {
			if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof(opt)) < 0)
				e = errno;
		} else {
			char cbuf[CMSG_SPACE(sizeof(opt))] = { 0 };
			struct iovec iov = { .iov_base = msg, .iov_len = 1 };
			struct msghdr mh = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov,
					     .msg_iovlen = 1, .msg_control = cbuf,
					     .msg_controllen = sizeof(cbuf) };
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_RETOPTS;
			c->cmsg_len = CMSG_LEN(sizeof(opt));
			memcpy(CMSG_DATA(c), opt, sizeof(opt));
			e = sendmsg(fd, &mh, 0) < 0 ? errno : 0;
			close(fd);
			return e;
		}
	}
	if (!e && sendto(fd, msg, 1, 0, (struct sockaddr *)&ss, len) < 0)
		e = errno;
	close(fd);
	return e;
}


static int steal(int pid, int target_fd, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int pidfd, fd, e = 0;

	if (make_addr(addr, port, &ss, &len) < 0)
		return EINVAL;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno;
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
	close(pidfd);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		e = errno;
	close(fd);
	return e;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	set_timeouts(fd, 3000);
	return fd;
}

static int unix_send(const char *path, const char *line)
{
	char buf[4096];
	int fd = unix_connect(path);
	ssize_t n;

	if (fd < 0)
		return errno;
	dprintf(fd, "%s\n", line);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? errno : ECONNRESET;
	buf[n] = '\0';
	printf("%s", buf);
	return -1; /* printed */
}

/* Serve one fresh, unconnected TCP socket to the first client of a Unix socket at PATH. */
static int pass_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0), cfd, sock = socket(AF_INET, SOCK_STREAM, 0);
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, x = 'x';
	struct iovec iov = { .iov_base = &x, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (lfd < 0 || sock < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0)
		return errno;
	printf("READY\n");
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0)
		return errno;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sock, sizeof(int));
	return sendmsg(cfd, &mh, 0) < 0 ? errno : 0;
}

static int recv_socket(const char *path, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char cbuf[CMSG_SPACE(sizeof(int))], x;
	struct iovec iov = { .iov_base = &x, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd = unix_connect(path), sock, e = 0;

	if (fd < 0)
		return errno;
	if (make_addr(addr, port, &ss, &len) < 0)
		return EINVAL;
	if (recvmsg(fd, &mh, 0) <= 0 || !(c = CMSG_FIRSTHDR(&mh)) || c->cmsg_type != SCM_RIGHTS)
		return EBADMSG;
	memcpy(&sock, CMSG_DATA(c), sizeof(int));
	if (connect(sock, (struct sockaddr *)&ss, len) < 0)
		e = errno;
	close(sock);
	close(fd);
	return e;
}

static int usage(void)
{
	fprintf(stderr, "netprobe: bad arguments (see the comment at the top of netprobe.c)\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *op;

	if (argc < 2)
		return usage();
	op = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(op, "listen") && argc >= 4)
		return listen_all(argc - 2, argv + 2);
	if (!strcmp(op, "loop") && argc == 7)
		return loop(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]), atoi(argv[6]));
	if (!strcmp(op, "flood") && argc == 5)
		return flood(argv[2], atoi(argv[3]), atol(argv[4]));
	if (!strcmp(op, "echo-hold") && argc == 5)
		return echo_hold(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(op, "sendmmsg") && argc == 5)
		return do_sendmmsg(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(op, "escape") && argc == 3) {
		printf("%s\n", errname(escape(argv[2])));
		return 0;
	}
	if (argc == 5 && (!strcmp(op, "rthdr6") || !strcmp(op, "ipopt4") || !strcmp(op, "lsrr4-cmsg"))) {
		printf("%s\n", errname(reroute_send(op, argv[2], argv[3], atoi(argv[4]))));
		return 0;
	}
	if (!strcmp(op, "mptcp") && argc == 4) {
		printf("%s\n", errname(stream_connect(argv[2], atoi(argv[3]), IPPROTO_MPTCP)));
		return 0;
	}
	if (!strcmp(op, "vsock") && argc == 2) {
		int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

		printf("%s\n", errname(fd < 0 ? errno : 0));
		return 0;
	}
	if (!strcmp(op, "hold-socket") && argc == 2) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		printf("%d %d\n", (int)getpid(), fd);
		sleep(300);
		return 0;
	}
	if (!strcmp(op, "steal") && argc == 6) {
		printf("%s\n", errname(steal(atoi(argv[2]), atoi(argv[3]), argv[4], atoi(argv[5]))));
		return 0;
	}
	if (!strcmp(op, "pass-socket") && argc == 3) {
		int e = pass_socket(argv[2]);

		if (e)
			printf("%s\n", errname(e));
		return 0;
	}
	if (!strcmp(op, "recv-socket") && argc == 5) {
		printf("%s\n", errname(recv_socket(argv[2], argv[3], atoi(argv[4]))));
		return 0;
	}
	if (!strcmp(op, "setuid") && argc == 3) {
		uid_t id = (uid_t)atoi(argv[2]);

		printf("%s\n", errname(setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0 ? errno : 0));
		return 0;
	}
	if (!strcmp(op, "unix-send") && argc == 4) {
		int e = unix_send(argv[2], argv[3]);

		if (e >= 0)
			printf("%s\n", errname(e));
		return 0;
	}
	if (argc == 2 && (!strcmp(op, "raw4") || !strcmp(op, "raw6") || !strcmp(op, "icmp4") ||
			  !strcmp(op, "packet"))) {
		printf("%s\n", errname(make_socket(op)));
		return 0;
	}
	if (argc != 4)
		return usage();
	if (!strcmp(op, "tcp"))
		printf("%s\n", errname(tcp_connect(argv[2], atoi(argv[3]))));
	else if (!strcmp(op, "udp-connect"))
		printf("%s\n", errname(udp_op(argv[2], atoi(argv[3]), 1, 0)));
	else if (!strcmp(op, "udp-sendto"))
		printf("%s\n", errname(udp_op(argv[2], atoi(argv[3]), 0, 0)));
	else if (!strcmp(op, "udp6-sendto-mapped"))
		printf("%s\n", errname(udp_op(argv[2], atoi(argv[3]), 0, 1)));
	else if (!strcmp(op, "tfo"))
		printf("%s\n", errname(tfo(argv[2], atoi(argv[3]))));
	else if (!strcmp(op, "uring"))
		printf("%s\n", errname(uring_connect(argv[2], atoi(argv[3]))));
	else if (!strcmp(op, "fork-tcp")) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			printf("%s\n", errname(tcp_connect(argv[2], atoi(argv[3]))));
			_exit(0);
		}
		waitpid(pid, &st, 0);
	} else
		return usage();
	return 0;
}
