/*
 * libbilling — statements (정산서): the rules of docs/billing-rules.md.
 *
 * bl_statement_compute() is the pure calculation used by the batch; it takes
 * a subscriber's charge rows for one month and fills each line and the
 * totals.  All amounts are integer won; overflow is an error, never a wrap.
 */
#ifndef BILLING_STATEMENT_H
#define BILLING_STATEMENT_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

typedef enum {
	BL_SERVICE_UNKNOWN = 0,
	BL_SERVICE_PLAN = 1, /**< 요금제 */
	BL_SERVICE_VAS = 2,  /**< 부가서비스 */
	BL_SERVICE_MCP = 3   /**< 소액결제: no VAT */
} bl_service_type;

/** One charged_histories row joined to its service. */
typedef struct {
	int64_t charge_id;
	int64_t service_id;
	bl_service_type type; /**< BL_SERVICE_UNKNOWN when the service does not exist */
	bl_won price;
	bl_won contract; /**< 선택약정 */
	bl_won bundle;   /**< 결합 */
	bl_won premier;  /**< 멤버십 */
} bl_charge;

/** One statement line: the discounts as actually applied. */
typedef struct {
	bl_won contract, bundle, premier; /**< applied parts, capped in this order */
	bl_won discount;                  /**< contract + bundle + premier (applied) */
	bl_won net;                       /**< price - discount */
} bl_line;

typedef struct {
	bl_won usage_amount, discount_amount, net_amount;
	bl_won taxable_amount, vat_amount, total_amount;
	bl_won billed_amount, truncated_amount;
	int due_year, due_month, due_day;
} bl_totals;

/** Why a subscriber gets no statement. */
typedef enum {
	BL_CHARGE_OK = 0,
	BL_CHARGE_INVALID = 1,        /**< INVALID_CHARGE: negative price or discount */
	BL_CHARGE_UNKNOWN_SERVICE = 2 /**< UNKNOWN_SERVICE */
} bl_charge_problem;

/** "INVALID_CHARGE", "UNKNOWN_SERVICE" or "OK". */
BL_EXTERN(const char *) bl_charge_problem_name(bl_charge_problem p);

/**
 * Compute lines (array of n, may be NULL) and totals for `month` ("YYYY-MM")
 * with the due day `due_day` (1-28).  Returns BL_EINVAL with *problem set when
 * a row makes the subscriber ineligible (rule 10), BL_EINVAL for n == 0
 * (rule 9) with *problem = BL_CHARGE_OK, BL_EOVERFLOW on overflow.
 */
BL_EXTERN(int) bl_statement_compute(const bl_charge *charges, size_t n, const char *month,
				    int due_day, bl_line *lines, bl_totals *totals,
				    bl_charge_problem *problem);

/** Parse "YYYY-MM" (2000-01 .. 2999-12); BL_EINVAL with a message otherwise. */
BL_EXTERN(int) bl_month_parse(const char *month, int *year, int *mon);

/**
 * The statement of (user, month) as a JSON object with its lines
 * (*json, bl_free).  BL_ENOTFOUND when there is none.
 */
BL_EXTERN(int) bl_statement_get(bl_ctx *ctx, int64_t user_id, const char *month, char **json);

/**
 * Statements (without lines) matching every given criterion, in id order
 * after the cursor `after_id`, as a JSON array: `month` "YYYY-MM" or NULL
 * (any), `user_id` 0 (any), billed amount ≥ `min_billed` and, when
 * `max_billed` ≥ 0, ≤ `max_billed`; `limit` 1-1000.
 */
BL_EXTERN(int) bl_statement_search(bl_ctx *ctx, const char *month, int64_t user_id,
				   bl_won min_billed, bl_won max_billed, int64_t after_id, int limit,
				   char **json);

BL_END_DECLS

#endif
