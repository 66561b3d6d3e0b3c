// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/* The floor any cgroup hook pays: programs on the same hooks as mcpfence that allow everything. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup/connect4") int allow_connect4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/connect6") int allow_connect6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sendmsg4") int allow_sendmsg4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sendmsg6") int allow_sendmsg6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sock_create") int allow_sock_create(struct bpf_sock *sk) { return 1; }
SEC("cgroup_skb/egress") int allow_skb(struct __sk_buff *skb) { return 1; }

char LICENSE[] SEC("license") = "Dual MIT/GPL";
