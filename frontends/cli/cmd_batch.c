/* billing-cli: batch (being written). */
#include "cli.h"

int cmd_batch(cli_state *st, int argc, char **argv)
{
	(void)st; (void)argc; (void)argv;
	return cli_usage("batch: not built yet");
}
