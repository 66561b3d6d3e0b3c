// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * The building blocks of mcpfence's programs, one per program, each attached alone to the hook
 * it is used on: what a helper or a map access costs on this machine, next to an empty program
 * of the same hook (bench/run.sh, "Building blocks"). Maps are sized as mcpfence sizes its own.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct mark {
	__u64 words[8]; /* the size of struct mcpf_sock_mark */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mark);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* as mcpf_bindings */
	__type(key, __u64);
	__type(value, __u64[3]);
} bindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 5376); /* as mcpf_verdicts */
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

/* connect4: run by udp-connect (one socket, connected again and again) */
SEC("cgroup/connect4") int empty_connect4(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/connect4") int cgroup_id(struct bpf_sock_addr *ctx)
{
	return bpf_get_current_cgroup_id() != 1;
}

SEC("cgroup/connect4") int ancestor_id(struct bpf_sock_addr *ctx)
{
	return bpf_get_current_ancestor_cgroup_id(1) != 1;
}

SEC("cgroup/connect4") int clock_boot(struct bpf_sock_addr *ctx)
{
	return bpf_ktime_get_boot_ns() != 1;
}

SEC("cgroup/connect4") int clock_coarse(struct bpf_sock_addr *ctx)
{
	return bpf_ktime_get_coarse_ns() != 1;
}

/* found from the second call on, as mcpfence finds a bound cgroup's binding */
SEC("cgroup/connect4") int hash_lookup(struct bpf_sock_addr *ctx)
{
	__u64 k = 42, v[3] = {};

	if (!bpf_map_lookup_elem(&bindings, &k))
		bpf_map_update_elem(&bindings, &k, v, BPF_ANY);
	return 1;
}

SEC("cgroup/connect4") int percpu_count(struct bpf_sock_addr *ctx)
{
	__u32 k = 77;
	__u64 *n = bpf_map_lookup_elem(&verdicts, &k);

	if (n)
		*n += 1;
	return 1;
}

/* on a socket that has its storage already (udp-connect), or a new one each time (tcp) */
SEC("cgroup/connect4") int sk_storage_create(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct mark *m;

	if (!sk)
		return 1;
	m = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (m)
		m->words[0] = 1;
	return 1;
}

/* skb egress: run by tcp-send, one established flow */
SEC("cgroup_skb/egress") int empty_skb(struct __sk_buff *skb) { return 1; }

SEC("cgroup_skb/egress") int skb_fullsock(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	return !sk || bpf_sk_fullsock(sk) || 1;
}

SEC("cgroup_skb/egress") int skb_sk_storage(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct mark *m;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	m = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	return !m || m->words[0] != 7 || 1;
}

SEC("cgroup_skb/egress") int skb_cgroup(struct __sk_buff *skb)
{
	return bpf_skb_cgroup_id(skb) != 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
