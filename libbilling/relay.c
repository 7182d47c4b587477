/* relay.c: being written */
#include "internal.h"
