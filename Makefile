# SPDX-License-Identifier: MIT
# mcpfence build, in the libbpf-bootstrap shape: BPF objects -> skeletons -> userspace binary.
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
SAN ?= 0
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(SAN),1)
OUT ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
OUT ?= build
SANFLAGS :=
endif

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	  -Werror=implicit-function-declaration -D_GNU_SOURCE -I$(OUT) $(SRC_INC) $(SANFLAGS)
LDLIBS := -lbpf -lelf -lz -ljansson -lyaml -lssl -lcrypto -lcurl -lm -lpthread
LDFLAGS += $(SANFLAGS)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf \
	      $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH))

# userspace/ is in folders by subsystem (see README); every folder is on the include path.
SRC_DIRS := lib kernel policy identity k8s docker confine agent cli
SRC_INC := -Ibpf $(addprefix -Iuserspace/,$(SRC_DIRS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
LIB_SRCS := $(filter-out userspace/cli/main.c,$(wildcard $(addsuffix /*.c,$(addprefix userspace/,$(SRC_DIRS)))))
LIB_OBJS := $(patsubst userspace/%.c,$(OUT)/%.o,$(LIB_SRCS))
USER_HDRS := $(wildcard userspace/*/*.h)
BENCH_BINS := $(OUT)/netbench $(OUT)/bench_verify $(OUT)/allow_all.bpf.o $(OUT)/primitives.bpf.o
TEST_BINS := $(OUT)/test_policy $(OUT)/test_vectors $(OUT)/test_token $(OUT)/netprobe \
	     $(OUT)/mcpfence-testhooks

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS)
.PHONY: all test unit integration demo vmtest bench install clean deps lint fuzz image

all: $(OUT)/mcpfence $(TEST_BINS) $(BENCH_BINS)

deps:
	$(Q)scripts/install-deps.sh

# The agent's OCI image, built locally from Debian packages (deploy/image/build.sh)
image: build/image/mcpfence.tar
build/image/mcpfence.tar: build/mcpfence deploy/image/build.sh scripts/oci.sh
	$(call msg,IMAGE,$@)
	$(Q)deploy/image/build.sh build/mcpfence build/image

$(OUT):
	$(Q)mkdir -p $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUT)/%.o: userspace/%.c $(USER_HDRS) bpf/mcpfence_abi.h $(SKELS) | $(OUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/mcpfence: $(OUT)/cli/main.o $(LIB_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/test_policy: tests/unit/test_policy.c tests/unit/testlib.h $(LIB_OBJS)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) tests/unit/test_policy.c $(LIB_OBJS) $(LDLIBS) -o $@

$(OUT)/test_vectors: tests/unit/test_vectors.c tests/unit/testlib.h $(LIB_OBJS)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) tests/unit/test_vectors.c $(LIB_OBJS) $(LDLIBS) -o $@

$(OUT)/test_token: tests/unit/test_token.c tests/unit/testlib.h tests/lib/jwtmint.c $(LIB_OBJS)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) tests/unit/test_token.c tests/lib/jwtmint.c $(LIB_OBJS) $(LDLIBS) -o $@

# The agent with its test hooks (MCPF_TEST_HOOKS: the old, refused ways of finding the root's
# level, for the suites that show them refused; caches cleared at 64 entries, not 65,536, so a
# suite can show that what cannot be recomputed survives that). Never installed: the shipped
# binary has none.
TESTHOOK_SRCS := userspace/agent/agent.c userspace/lib/idmap.c
TESTHOOK_OBJS := $(patsubst userspace/%.c,$(OUT)/%-testhooks.o,$(TESTHOOK_SRCS))
$(TESTHOOK_OBJS): $(OUT)/%-testhooks.o: userspace/%.c $(USER_HDRS) bpf/mcpfence_abi.h $(SKELS) | $(OUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -DMCPF_TEST_HOOKS -DIDMAP_CACHE_MAX=64 -c $< -o $@

$(OUT)/mcpfence-testhooks: $(OUT)/cli/main.o $(filter-out $(patsubst $(OUT)/%-testhooks.o,$(OUT)/%.o,$(TESTHOOK_OBJS)),$(LIB_OBJS)) $(TESTHOOK_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/netprobe: tests/netprobe.c | $(OUT)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -luring -o $@

# Benchmarks: bench/README.md
$(OUT)/netbench: bench/netbench.c | $(OUT)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -lpthread -o $@

$(OUT)/bench_verify: bench/bench_verify.c tests/lib/jwtmint.c $(LIB_OBJS)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) bench/bench_verify.c tests/lib/jwtmint.c $(LIB_OBJS) $(LDLIBS) -o $@

$(OUT)/allow_all.bpf.o $(OUT)/primitives.bpf.o: $(OUT)/%.bpf.o: bench/%.bpf.c | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh
	$(Q)bench/names.sh
	$(Q)bench/tls.sh
	$(Q)bench/verifier.sh

# libFuzzer targets (clang), with ASan and UBSan.
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined $(SRC_INC) -I$(OUT)
FUZZ_POLICY_SRCS := $(addprefix userspace/policy/,policy.c names.c credentials.c suggest.c import.c providers.c metadata.c) \
	userspace/lib/util.c userspace/lib/yamljson.c userspace/lib/claim_path.c
$(OUT)/fuzz_policy: tests/fuzz/fuzz_policy.c $(FUZZ_POLICY_SRCS) $(USER_HDRS) | $(OUT)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_policy.c $(FUZZ_POLICY_SRCS) -ljansson -lyaml -o $@

FUZZ_JWS_SRCS := $(addprefix userspace/identity/,jws.c jwk.c b64url.c trust.c preset.c https.c verify_error.c) \
	userspace/policy/providers.c userspace/lib/util.c userspace/lib/httpstream.c userspace/lib/claim_path.c
$(OUT)/fuzz_jws: tests/fuzz/fuzz_jws.c $(FUZZ_JWS_SRCS) $(USER_HDRS) | $(OUT)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_jws.c $(FUZZ_JWS_SRCS) -ljansson -lssl -lcrypto -lcurl -lm -o $@

FUZZ_TOKENOP_SRCS := userspace/identity/tokenop.c userspace/lib/control.c userspace/lib/util.c
$(OUT)/fuzz_tokenop: tests/fuzz/fuzz_tokenop.c $(FUZZ_TOKENOP_SRCS) $(USER_HDRS) | $(OUT)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_tokenop.c $(FUZZ_TOKENOP_SRCS) -ljansson -o $@

fuzz: $(OUT)/fuzz_policy $(OUT)/fuzz_jws $(OUT)/fuzz_tokenop

# The whole suite: unit tests, then the root integration suite on this kernel.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SAN=1 all
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)tests/run.sh

unit: all
	$(Q)tests/run.sh unit

integration: all
	$(Q)tests/run.sh integration

# The root integration suite on other kernels under qemu: KERNELS="host 6.1 6.12" by default.
KERNELS ?= host 6.1 6.12
vmtest: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)vmtest/run.sh $(KERNELS)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

install: all
	install -D -m 0755 $(OUT)/mcpfence $(DESTDIR)/usr/local/sbin/mcpfence
	install -D -m 0644 deploy/mcpfence.service $(DESTDIR)/etc/systemd/system/mcpfence.service

clean:
	rm -rf build build-san

# Static analysis: both must stay quiet.
CPPCHECK_FLAGS := --enable=warning,performance,portability --inline-suppr --quiet --error-exitcode=1 \
	-D__GNUC__ -D_GNU_SOURCE $(SRC_INC) -I$(OUT) -I/usr/include $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH)) \
	--suppress=missingIncludeSystem --suppress='*:/usr/include/*'
lint: $(SKELS)
	$(call msg,LAYERS,userspace)
	$(Q)scripts/check-layers.sh >/dev/null || scripts/check-layers.sh
	$(call msg,AGENT,userspace/agent)
	$(Q)scripts/check-agent.py >/dev/null || scripts/check-agent.py
	$(call msg,CPPCHECK,userspace tests)
	$(Q)cppcheck -j $$(nproc) $(CPPCHECK_FLAGS) userspace/ tests/netprobe.c tests/unit/
	$(call msg,TIDY,userspace)
	$(Q)out=$$(ls userspace/*/*.c | xargs -P $$(nproc) -I{} clang-tidy --quiet {} -- -std=gnu11 -D_GNU_SOURCE \
		-I$(OUT) $(SRC_INC) 2>/dev/null); \
		if echo "$$out" | grep -E 'warning:|error:'; then exit 1; fi
