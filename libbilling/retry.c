/* retry.c: being written */
#include "internal.h"
