/* template_store.c: being written */
#include "internal.h"
