# The LD_PRELOAD attacker of tests/cli/phases.sh: a shared object, so it
# gets its own rule instead of the helpers' program rule.
$(BUILD)/tests/helpers/phase_inject.so: tests/helpers/phase_inject.so.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -shared -fPIC -o $@ $<
