/* message.c: being written */
#include "internal.h"
