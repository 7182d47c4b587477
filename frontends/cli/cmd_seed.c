/* billing-cli: seed (being written). */
#include "cli.h"

int cmd_seed(cli_state *st, int argc, char **argv)
{
	(void)st; (void)argc; (void)argv;
	return cli_usage("seed: not built yet");
}
