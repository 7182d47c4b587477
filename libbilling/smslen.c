/* smslen.c: being written */
#include "internal.h"
