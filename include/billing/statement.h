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
 * `max_billed` ≥ 0, ≤ `max_billed`; `limit` 1-1000.  Kept for the ABI: the
 * same as bl_statement_search_by with these fields of a filter.
 */
BL_EXTERN(int) bl_statement_search(bl_ctx *ctx, const char *month, int64_t user_id,
				   bl_won min_billed, bl_won max_billed, int64_t after_id, int limit,
				   char **json);

/* ---- typed reads ----
 *
 * A statement as a C object.  bl_statement_lookup() reads one with its
 * lines, bl_statement_find() a page of them (without lines).  Every
 * accessor is named after the key of the JSON (bl_statement_get) that
 * holds the same value and returns the same value: amounts in integer won,
 * dates as the JSON's "YYYY-MM-DD" / "YYYY-MM-DD HH:MM:SS" text, 0 or NULL
 * for a NULL object or an absent value.  Strings are owned by the object.
 * A statement holds no personal data but the subscriber's name.
 */
typedef struct bl_statement bl_statement;
/** One line of a statement (owned by its statement). */
typedef struct bl_statement_line bl_statement_line;
/** The statements of a search (owned by the array). */
typedef struct bl_statement_array bl_statement_array;

typedef struct {
	unsigned version;
	const char *month;  /**< "YYYY-MM", or NULL (any) */
	int64_t user_id;    /**< 0: any */
	bl_won min_billed;  /**< billed amount ≥ this */
	bl_won max_billed;  /**< billed amount ≤ this when ≥ 0 (-1: no maximum) */
	int64_t after_id;   /**< cursor: ids greater than this */
	int limit;          /**< page size (1-1000) */
} bl_statement_filter;

#define BL_STATEMENT_FILTER_VERSION 1
#define BL_STATEMENT_FILTER_INIT { BL_STATEMENT_FILTER_VERSION, NULL, 0, 0, -1, 0, 100 }
/** Defaults of `version` (1): any month and subscriber, no maximum, limit 100. */
BL_EXTERN(int) bl_statement_filter_init(bl_statement_filter *f, unsigned version);

/** bl_statement_search with a filter: the same JSON array. */
BL_EXTERN(int) bl_statement_search_by(bl_ctx *ctx, const bl_statement_filter *f, char **json);

/**
 * The statement of (user, month) with its lines (*out, bl_statement_free).
 * BL_ENOTFOUND when there is none; *out is NULL on any error.
 */
BL_EXTERN(int) bl_statement_lookup(bl_ctx *ctx, int64_t user_id, const char *month,
				   bl_statement **out);
/** The statements bl_statement_search_by lists (*out, bl_statement_array_free). */
BL_EXTERN(int) bl_statement_find(bl_ctx *ctx, const bl_statement_filter *f,
				 bl_statement_array **out);
/**
 * The JSON of bl_statement_get (*json, bl_free); for an item of
 * bl_statement_find, the JSON of one bl_statement_search item (no lines).
 */
BL_EXTERN(int) bl_statement_to_json(const bl_statement *st, char **json);
/** Free a statement and its lines (NULL: nothing). */
BL_EXTERN(void) bl_statement_free(bl_statement *st);

BL_EXTERN(int64_t) bl_statement_id(const bl_statement *st);
BL_EXTERN(int64_t) bl_statement_user_id(const bl_statement *st);
/** The subscriber's name (NULL when the subscriber row is gone). */
BL_EXTERN(const char *) bl_statement_user_name(const bl_statement *st);
/** "YYYY-MM". */
BL_EXTERN(const char *) bl_statement_target_month(const bl_statement *st);
BL_EXTERN(int64_t) bl_statement_batch_run_id(const bl_statement *st);
/** 1, bumped by each reissue. */
BL_EXTERN(int) bl_statement_version(const bl_statement *st);
BL_EXTERN(bl_won) bl_statement_usage_amount(const bl_statement *st);
BL_EXTERN(bl_won) bl_statement_discount_amount(const bl_statement *st);
BL_EXTERN(bl_won) bl_statement_net_amount(const bl_statement *st);
BL_EXTERN(bl_won) bl_statement_taxable_amount(const bl_statement *st);
BL_EXTERN(bl_won) bl_statement_vat_amount(const bl_statement *st);
BL_EXTERN(bl_won) bl_statement_total_amount(const bl_statement *st);
BL_EXTERN(bl_won) bl_statement_billed_amount(const bl_statement *st);
BL_EXTERN(bl_won) bl_statement_truncated_amount(const bl_statement *st);
/** "YYYY-MM-DD". */
BL_EXTERN(const char *) bl_statement_due_date(const bl_statement *st);
/** The number of lines the statement has (stored; also for bl_statement_find items). */
BL_EXTERN(int) bl_statement_line_count(const bl_statement *st);
/** "YYYY-MM-DD HH:MM:SS". */
BL_EXTERN(const char *) bl_statement_issued_at(const bl_statement *st);
/** Lines read with the statement: those of bl_statement_lookup, 0 for bl_statement_find items. */
BL_EXTERN(size_t) bl_statement_lines_count(const bl_statement *st);
/** Line `i` (0-based, in line_no order), NULL when out of range. */
BL_EXTERN(const bl_statement_line *) bl_statement_lines_at(const bl_statement *st, size_t i);

BL_EXTERN(int) bl_statement_line_line_no(const bl_statement_line *l);
BL_EXTERN(int64_t) bl_statement_line_charge_id(const bl_statement_line *l);
BL_EXTERN(int64_t) bl_statement_line_service_id(const bl_statement_line *l);
/** NULL when the service row is gone. */
BL_EXTERN(const char *) bl_statement_line_service_name(const bl_statement_line *l);
/** "PLAN", "VAS" or "MCP". */
BL_EXTERN(const char *) bl_statement_line_service_type(const bl_statement_line *l);
BL_EXTERN(bl_won) bl_statement_line_price(const bl_statement_line *l);
BL_EXTERN(bl_won) bl_statement_line_contract_discount(const bl_statement_line *l);
BL_EXTERN(bl_won) bl_statement_line_bundle_discount(const bl_statement_line *l);
BL_EXTERN(bl_won) bl_statement_line_premier_discount(const bl_statement_line *l);
BL_EXTERN(bl_won) bl_statement_line_discount(const bl_statement_line *l);
BL_EXTERN(bl_won) bl_statement_line_net(const bl_statement_line *l);

BL_EXTERN(size_t) bl_statement_array_count(const bl_statement_array *a);
/** Item `i` (owned by the array), NULL when out of range. */
BL_EXTERN(const bl_statement *) bl_statement_array_at(const bl_statement_array *a, size_t i);
/** The JSON array of bl_statement_search (*json, bl_free). */
BL_EXTERN(int) bl_statement_array_to_json(const bl_statement_array *a, char **json);
BL_EXTERN(void) bl_statement_array_free(bl_statement_array *a);

BL_END_DECLS

#endif
