/*
 * chaos-enqueue MONTH: create the month's billing messages
 * (bl_message_enqueue_statements) and print the counts as JSON.  A test
 * helper for scripts/chaos until billing-cli has a command for it.
 * Settings from the environment (as billing-cli).  Exit 0, or 4 on error.
 */
#include <stdio.h>
#include <billing/billing.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: chaos-enqueue YYYY-MM\n");
		return 1;
	}
	bl_ctx *ctx = NULL;
	if (bl_ctx_new(&ctx, NULL)) {
		fprintf(stderr, "chaos-enqueue: configuration: %s\n", bl_error_last());
		return 5;
	}
	bl_enqueue_stats st = { 0 };
	int rc = bl_message_enqueue_statements(ctx, argv[1], 0, &st);
	if (rc)
		fprintf(stderr, "chaos-enqueue: %s: %s\n", bl_strerror(rc), bl_error_last());
	else
		printf("{\"statements\":%lld,\"created\":%lld,\"existing\":%lld,\"no_consent\":%lld}\n",
		       (long long)st.statements, (long long)st.created, (long long)st.existing,
		       (long long)st.no_consent);
	bl_ctx_free(ctx);
	return rc ? 4 : 0;
}
