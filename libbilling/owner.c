/* The name of this process in rows it owns or claims: "host:pid". */
#include <unistd.h>
#include "internal.h"

void bl__owner_name(char out[BL__OWNER_MAX])
{
	char host[64] = "localhost";
	if (gethostname(host, sizeof host - 1) != 0 || !host[0])
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(out, BL__OWNER_MAX, "%s:%d", host, (int)getpid());
}
