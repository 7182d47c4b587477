/* worker.c: being written */
#include "internal.h"
