// SPDX-License-Identifier: MIT
#include "sockdiag.h"
#include "util.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

int sockdiag_destroy_tcp(uint8_t family, const uint8_t saddr[16], uint16_t sport, const uint8_t daddr[16],
			 uint16_t dport, uint64_t cookie)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DESTROY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 },
		.req = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr nh;
		char buf[512];
	} reply;
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	ssize_t n;

	if (fd < 0)
		return -errno;
	msg.req.id.idiag_sport = htons(sport);
	msg.req.id.idiag_dport = htons(dport);
	memcpy(msg.req.id.idiag_src, saddr, family == AF_INET ? 4 : 16);
	memcpy(msg.req.id.idiag_dst, daddr, family == AF_INET ? 4 : 16);
	msg.req.id.idiag_cookie[0] = (uint32_t)cookie;
	msg.req.id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	n = recv(fd, &reply, sizeof(reply), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(struct nlmsghdr) + sizeof(int) || reply.nh.nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	return ((struct nlmsgerr *)NLMSG_DATA(&reply.nh))->error;
}
