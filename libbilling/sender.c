/* sender.c: being written */
#include "internal.h"
