/*
 * The data a message is rendered with (model.c), loaded in bulk.
 *
 * Model keys (JSON object):
 *   userName, phone (digits), email, targetMonth, statementId,
 *   usageAmount, discountAmount, totalDiscount (= discountAmount), vatAmount,
 *   billedAmount, totalPrice (= billedAmount), truncatedAmount, dueDate,
 *   lines / services: [{serviceName, serviceType, price, discount, net}]
 *   plus any keys of the message's params_json (NOTICE / manual sends).
 * Statement keys are absent when the message has no statement.
 */
#ifndef BL_MODEL_PRIVATE_H
#define BL_MODEL_PRIVATE_H

#include "db.h"

typedef struct {
	int64_t user_id;
	int64_t statement_id; /* 0: none */
	const char *params_json; /* NULL: none */
} bl__model_req;

/* models[i] for reqs[i] (new references); a missing user or statement is
 * BL_ENOTFOUND for the whole call, naming it. */
BL_PRIVATE int bl__models_load(bl_ctx *ctx, MYSQL *db, const bl__model_req *reqs, size_t n,
			       json_t **models);

#endif
