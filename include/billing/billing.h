/*
 * libbilling — umbrella header.  Include this one.
 */
#ifndef BILLING_BILLING_H
#define BILLING_BILLING_H

#include "common.h"
#include "error.h"
#include "config.h"
#include "context.h"
#include "clock.h"
#include "migrate.h"
#include "crypto.h"
#include "user.h"
#include "statement.h"
#include "seed.h"
#include "batch.h"
#include "template.h"
#include "retry.h"
#include "message.h"
#include "group.h"
#include "reservation.h"
#include "admin.h"
#include "session.h"
#include "stats.h"
#include "hold.h"
#include "email.h"
#include "sms.h"

#endif
