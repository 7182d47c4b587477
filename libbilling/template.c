/* template.c: being written */
#include "internal.h"
