/*
 * Seed data generator: the deterministic part (no database).  seed_data.c
 * holds the PRNG, the catalogue and the tables of names; seed.c writes.
 *
 * Every value is a pure function of (seed, stream, index): subscriber i's
 * identity and profile depend on (seed, i) only, its charges for a month on
 * (seed, month, i), so the same seed gives the same data whatever N is.
 */
#ifndef BL_SEED_PRIVATE_H
#define BL_SEED_PRIVATE_H

#include "internal.h"

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---- */
typedef struct {
	uint64_t s[4];
} bl__rng;

BL_PRIVATE void bl__rng_init(bl__rng *r, uint64_t seed, uint64_t stream, uint64_t index);
BL_PRIVATE uint64_t bl__rng_next(bl__rng *r);
/* Uniform in [0, n) (n > 0; Lemire's multiply-shift, bias < 2^-32). */
BL_PRIVATE uint32_t bl__rng_below(bl__rng *r, uint32_t n);
/* True with probability permille / 1000. */
BL_PRIVATE bool bl__rng_permille(bl__rng *r, unsigned permille);

/* ---- the service catalogue (fixed ids 1..N) ---- */
typedef struct {
	int id;
	const char *code;
	const char *name;
	const char *type; /* "PLAN", "VAS", "MCP" */
	int64_t price;    /* 0 for MCP: the amount varies per charge */
} bl__seed_service;

BL_PRIVATE extern const bl__seed_service bl__seed_services[];
BL_PRIVATE extern const size_t bl__seed_nservices;

/* A service id that does not exist (UNKNOWN_SERVICE rows). */
#define BL_SEED_UNKNOWN_SERVICE 9999

/* ---- target groups created by the seed ---- */
enum { BL_SEED_GROUP_VIP, BL_SEED_GROUP_SMS, BL_SEED_GROUP_YOUTH, BL_SEED_NGROUPS };
typedef struct {
	const char *code, *name, *description;
} bl__seed_group;
BL_PRIVATE extern const bl__seed_group bl__seed_groups[BL_SEED_NGROUPS];

/* ---- subscribers ---- */
/* The stable part of a subscriber: what it pays for every month. */
typedef struct {
	int plan;             /* service id of the PLAN */
	int vas[2];           /* subscribed VAS ids, nvas of them */
	int nvas;
	int64_t contract;     /* 선택약정 on the plan (25 %), 0 if none */
	int64_t bundle;       /* 결합 on the plan, 0 if none */
	int64_t premier;      /* 멤버십 on the plan, 0 if none */
	int64_t vas_premier;  /* 멤버십 on the first VAS, 0 if none */
	unsigned groups;      /* bit g = member of bl__seed_groups[g] */
} bl__seed_profile;

typedef struct {
	char name[32];   /* UTF-8 */
	char phone[16];  /* 010-XXXX-YYYY */
	char email[80];
	bool sms_preferred, consent_email, consent_sms;
	bl__seed_profile profile;
} bl__seed_user;

/* Subscriber `i` (1 .. 100,000,000). */
BL_PRIVATE void bl__seed_user_make(uint64_t seed, int64_t i, bl__seed_user *u);

/* ---- charges ---- */
#define BL_SEED_MAX_CHARGES 6
typedef struct {
	int service_id;
	int64_t price, contract, bundle, premier;
	char created_at[20]; /* "YYYY-MM-DD HH:MM:SS", Asia/Seoul */
} bl__seed_charge;

/*
 * Subscriber i's charges for (year, mon): fills out[] and returns how many.
 * *invalid tells whether an invalid row was added (invalid_permille ‰ of
 * subscribers, chosen by a stream of its own so the other rows do not depend
 * on the share).
 */
BL_PRIVATE int bl__seed_charges_make(uint64_t seed, int year, int mon, int64_t i,
				     unsigned invalid_permille, bl__seed_charge out[BL_SEED_MAX_CHARGES],
				     bool *invalid);

/* A loader's own connection (seed.c): LOCAL INFILE allowed, but only for
 * the generator's named streams; checks off; NOW() at `now_us`. */
typedef struct st_mysql MYSQL;
BL_PRIVATE MYSQL *bl__seed_connect(const bl_config *cfg, int64_t now_us);

#endif
