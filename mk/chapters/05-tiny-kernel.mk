# Chapter 05 (tiny kernel): cross-builds Cortex-M3 kernel images for QEMU and tells the tests where they are.
#
# Read by mk/chapter.mk after it has set CHS, IMPL, B, sources, TEST_DEPS, TEST_ENV, DEMO_DEPS, DEMO_CMD.
#
# An image = every file in `sources` (the student's kernel; the portable ones compile for ARM too) + every file in
# `given` (the vector table, printing, the exit, the loop's helpers: from chapters/ whatever IMPL is) + a pristine
# scenario from tests/05-tiny-kernel/images/ (its processes, user_<name>.c, and boot_check.c), linked with
# chapters/05-tiny-kernel/kernel.ld. Images do not depend on the host compiler or sanitizer variant, so they live
# once per IMPL in $(BUILD)/<impl>/arm-none-eabi/05-tiny-kernel/.
#
# A kernel that does not compile must not stop `make check`: the host tests still run and the QEMU tests fail
# with the compiler's message. So the images are built by a sub-make whose failure is recorded in build.log and
# removes every image (a stale image from older code must never be tested).
#
# K_CFLAGS, K_LDFLAGS and K_LDLIBS hold everything an ARM compile or link needs; bench/05-tiny-kernel/run.sh reads
# them (bench_chapter_var), so the bench builds its kernel exactly as the tests do. Nothing here runs a command
# while make reads the file: `print-K_CFLAGS` must answer without building or probing anything.

K_CROSS ?= arm-none-eabi-gcc
K_QEMU ?= qemu-system-arm
K_SIZE ?= arm-none-eabi-size
KB := $(BUILD)/$(IMPL_TAG)/arm-none-eabi/$(CHS)
# The scenarios, by the part whose QEMU tests boot them: hello, interleave, regs and allow (part 4); prio and exit
# (part 5); crash, panic and lowstack (part 6). Part 1 boots part1_boot and part1_panic, below; part 6 also boots
# part1_kfault (a fault in the kernel itself, made by a test's k_main).
K_SCENARIOS := hello interleave regs allow prio exit crash panic lowstack
K_ARCH := -mcpu=cortex-m3 -mthumb
K_CFLAGS := -std=c17 -Wall -Wextra -Werror -g -O2 $(K_ARCH) -ffreestanding -fno-common -ffunction-sections \
    -fdata-sections -fno-tree-loop-distribute-patterns -fno-unwind-tables -fno-asynchronous-unwind-tables \
    -Ichapters/$(CHS) -Ichapters/include -MMD -MP
K_LDFLAGS := $(K_ARCH) -nostdlib -nostartfiles -T chapters/$(CHS)/kernel.ld -Wl,--gc-sections -Wl,--no-warn-rwx-segments
K_LDLIBS := -lgcc
K_KERNEL_OBJS := $(patsubst %.c,$(KB)/kernel/%.o,$(filter %.c,$(sources))) $(patsubst %.c,$(KB)/given/%.o,$(given))
K_IMAGES := $(foreach s,$(K_SCENARIOS),$(KB)/$(s).elf) $(KB)/part1_boot.elf $(KB)/part1_panic.elf \
    $(KB)/part1_kfault.elf
K_DEBIAN := gcc-arm-none-eabi libnewlib-arm-none-eabi

TEST_DEPS += k05-images
TEST_ENV += K05_IMAGES=$(abspath $(KB)) K05_QEMU=$(K_QEMU)
BUILD_LOGS += $(KB)/build.log

.PHONY: k05-images k05-elves
k05-images:
	@mkdir -p $(KB)
	@rm -f $(KB)/build.log
	@if ! command -v $(K_CROSS) >/dev/null 2>&1; then \
	  rm -f $(KB)/*.elf; \
	  echo "$(K_CROSS) not found: install the Debian packages $(K_DEBIAN) (or run 'sudo make deps')" >$(KB)/build.log; \
	  echo "  ARM     skipped: $(K_CROSS) not found (Debian packages: $(K_DEBIAN)); the QEMU tests will fail"; \
	elif ! $(MAKE) --no-print-directory -f mk/chapter.mk k05-elves CH=$(CHS) IMPL=$(IMPL) VARIANT=$(VARIANT) \
	    CC=$(CC) >$(KB)/build.log 2>&1; then \
	  rm -f $(KB)/*.elf; \
	  echo "  ARM     kernel images FAILED to build; the QEMU tests will fail (log: $(KB)/build.log):"; \
	  grep -E 'error|Error' $(KB)/build.log | head -n 8 | sed 's/^/          /'; \
	else \
	  echo "  ARM     kernel images up to date in $(KB)"; \
	fi

k05-elves: $(K_IMAGES)

$(KB)/kernel/%.o: $(IMPL)/$(CHS)/%.c $(CONF)
	$(call compile_c,$(K_CROSS) $(K_CFLAGS),ARM CC)
$(KB)/given/%.o: chapters/$(CHS)/%.c $(CONF)
	$(call compile_c,$(K_CROSS) $(K_CFLAGS),ARM CC)
$(KB)/scen/%.o: tests/$(CHS)/images/%.c $(CONF)
	$(call compile_c,$(K_CROSS) $(K_CFLAGS),ARM CC)
$(KB)/scen/user_demo.o: chapters/$(CHS)/demo.c $(CONF)
	$(call compile_c,$(K_CROSS) $(K_CFLAGS),ARM CC)

$(KB)/%.elf: $(K_KERNEL_OBJS) $(KB)/scen/user_%.o $(KB)/scen/boot_check.o chapters/$(CHS)/kernel.ld
	@echo "  ARM LD  $@"
	$(Q)$(K_CROSS) $(K_LDFLAGS) $(filter %.o,$^) $(K_LDLIBS) -Wl,-Map,$(@:.elf=.map) -o $@

# Part 1's images: the student's boot path with k_main from tests/05-tiny-kernel/images/part1_<name>.c, so that
# part 1 passes before the student's k_main (part 4) is written. objcopy makes the student's k_main weak in
# a copy of kernel.o; the test's strong k_main wins the link, and the rest of the kernel is there only to link.
K_OBJCOPY ?= arm-none-eabi-objcopy
K_PART1_OBJS := $(filter-out $(KB)/kernel/kernel.o,$(K_KERNEL_OBJS)) $(KB)/kernel/kernel-weak-main.o
$(KB)/kernel/kernel-weak-main.o: $(KB)/kernel/kernel.o
	$(Q)$(K_OBJCOPY) --weaken-symbol=k_main $< $@
$(KB)/part1_boot.elf: $(KB)/scen/part1_boot.o $(K_PART1_OBJS) $(KB)/scen/user_hello.o
$(KB)/part1_panic.elf: $(KB)/scen/part1_panic.o $(K_PART1_OBJS) $(KB)/scen/user_panic.o
$(KB)/part1_kfault.elf: $(KB)/scen/part1_kfault.o $(K_PART1_OBJS) $(KB)/scen/user_hello.o
$(KB)/part1_%.elf: $(KB)/scen/boot_check.o chapters/$(CHS)/kernel.ld
	@echo "  ARM LD  $@"
	$(Q)$(K_CROSS) $(K_LDFLAGS) $(filter %.o,$^) $(K_LDLIBS) -Wl,-Map,$(@:.elf=.map) -o $@

# Objects are intermediate in make's eyes (pattern rules chained to the images); keep them for rebuilds.
.SECONDARY: $(K_KERNEL_OBJS) $(foreach s,$(K_SCENARIOS) demo,$(KB)/scen/user_$(s).o) $(KB)/scen/boot_check.o \
    $(KB)/kernel/kernel-weak-main.o $(KB)/scen/part1_boot.o $(KB)/scen/part1_panic.o $(KB)/scen/part1_kfault.o

-include $(K_KERNEL_OBJS:.o=.d) $(wildcard $(KB)/scen/*.d)

# `make demo CH=05`: the host demo binary is a launcher that boots the demo image under QEMU.
DEMO_DEPS += $(KB)/demo.elf
DEMO_CMD = $(RUN_$(VARIANT)) $(DEMO_BIN) $(KB)/demo.elf
