/*
 * Seed data: the PRNG, the catalogue, Korean names and the generators of
 * subscribers and their monthly charges.  Pure functions, no database.
 */
#include "seed_private.h"

/* ---- PRNG ---- */

enum {
	STREAM_USER = 1,    /* identity: name, e-mail, channel, consents */
	STREAM_PROFILE = 2, /* plan, VAS, discounts (stable across months) */
	STREAM_MONTH = 3,   /* a month's charges */
	STREAM_INVALID = 4  /* a month's invalid row */
};

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void bl__rng_init(bl__rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
	uint64_t x = mix64(mix64(mix64(seed) ^ stream) ^ index);
	for (int k = 0; k < 4; k++) {
		x += 0x9e3779b97f4a7c15ULL;
		r->s[k] = mix64(x);
	}
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t bl__rng_next(bl__rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t bl__rng_below(bl__rng *r, uint32_t n)
{
	return (uint32_t)(((bl__rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

bool bl__rng_permille(bl__rng *r, unsigned permille) { return bl__rng_below(r, 1000) < permille; }

typedef struct {
	int value;
	unsigned weight;
} weighted;

static int pick(bl__rng *r, const weighted *w, size_t n)
{
	unsigned total = 0;
	for (size_t k = 0; k < n; k++)
		total += w[k].weight;
	unsigned x = bl__rng_below(r, total);
	for (size_t k = 0; k < n; k++) {
		if (x < w[k].weight)
			return w[k].value;
		x -= w[k].weight;
	}
	return w[n - 1].value;
}
#define PICK(r, table) pick((r), (table), sizeof(table) / sizeof((table)[0]))

/* ---- the catalogue ---- */

enum {
	SVC_PREMIER_ESSENTIAL = 1, SVC_STANDARD, SVC_SIMPLE_PLUS, SVC_LITE_PLUS, SVC_SLIM_PLUS,
	SVC_LTE_DATA33, SVC_YOUTH, SVC_SENIOR, SVC_PREMIER_PLUS,
	SVC_VCOLORING, SVC_YOUTUBE, SVC_GENIE, SVC_INSURANCE, SVC_DUALNUMBER, SVC_NETFLIX,
	SVC_MILLIE,
	SVC_APPSTORE, SVC_GAME, SVC_CONTENT, SVC_TRANSIT
};

const bl__seed_service bl__seed_services[] = {
	{ SVC_PREMIER_ESSENTIAL, "PLAN_5G_PREMIER_ESSENTIAL", "5G 프리미어 에센셜", "PLAN", 85000 },
	{ SVC_STANDARD, "PLAN_5G_STANDARD", "5G 스탠다드", "PLAN", 75000 },
	{ SVC_SIMPLE_PLUS, "PLAN_5G_SIMPLE_PLUS", "5G 심플+", "PLAN", 61000 },
	{ SVC_LITE_PLUS, "PLAN_5G_LITE_PLUS", "5G 라이트+", "PLAN", 55000 },
	{ SVC_SLIM_PLUS, "PLAN_5G_SLIM_PLUS", "5G 슬림+", "PLAN", 47000 },
	{ SVC_LTE_DATA33, "PLAN_LTE_DATA33", "LTE 데이터33", "PLAN", 33000 },
	{ SVC_YOUTH, "PLAN_5G_YOUTH", "5G 라이트 청소년 요금제", "PLAN", 45000 },
	{ SVC_SENIOR, "PLAN_5G_SENIOR", "5G 시니어 A형", "PLAN", 45000 },
	{ SVC_PREMIER_PLUS, "PLAN_5G_PREMIER_PLUS", "5G 프리미어 플러스", "PLAN", 105000 },
	{ SVC_VCOLORING, "VAS_VCOLORING", "V컬러링", "VAS", 3300 },
	{ SVC_YOUTUBE, "VAS_YOUTUBE_PREMIUM", "유튜브 프리미엄", "VAS", 13900 },
	{ SVC_GENIE, "VAS_GENIE_MUSIC", "지니뮤직", "VAS", 7700 },
	{ SVC_INSURANCE, "VAS_PHONE_INSURANCE", "휴대폰 분실파손 보험", "VAS", 5500 },
	{ SVC_DUALNUMBER, "VAS_DUAL_NUMBER", "듀얼넘버", "VAS", 3300 },
	{ SVC_NETFLIX, "VAS_NETFLIX_BASIC", "넷플릭스 베이직", "VAS", 9500 },
	{ SVC_MILLIE, "VAS_MILLIE", "밀리의 서재", "VAS", 9900 },
	{ SVC_APPSTORE, "MCP_APP_STORE", "앱스토어 결제", "MCP", 0 },
	{ SVC_GAME, "MCP_GAME_ITEM", "게임 아이템", "MCP", 0 },
	{ SVC_CONTENT, "MCP_CONTENT", "콘텐츠 결제", "MCP", 0 },
	{ SVC_TRANSIT, "MCP_TRANSIT_CARD", "교통카드 충전", "MCP", 0 },
};
const size_t bl__seed_nservices = sizeof bl__seed_services / sizeof bl__seed_services[0];

static int64_t service_price(int id) { return bl__seed_services[id - 1].price; }

/* Shares in ‰ of subscribers (plans) or of subscriptions (VAS, MCP). */
static const weighted PLAN_MIX[] = {
	{ SVC_PREMIER_ESSENTIAL, 100 }, { SVC_STANDARD, 150 }, { SVC_SIMPLE_PLUS, 180 },
	{ SVC_LITE_PLUS, 150 }, { SVC_SLIM_PLUS, 120 }, { SVC_LTE_DATA33, 140 },
	{ SVC_YOUTH, 60 }, { SVC_SENIOR, 50 }, { SVC_PREMIER_PLUS, 50 },
};
static const weighted VAS_MIX[] = {
	{ SVC_VCOLORING, 300 }, { SVC_YOUTUBE, 200 }, { SVC_GENIE, 100 }, { SVC_INSURANCE, 200 },
	{ SVC_DUALNUMBER, 50 }, { SVC_NETFLIX, 100 }, { SVC_MILLIE, 50 },
};
static const weighted MCP_MIX[] = {
	{ SVC_APPSTORE, 35 }, { SVC_GAME, 25 }, { SVC_CONTENT, 25 }, { SVC_TRANSIT, 15 },
};

const bl__seed_group bl__seed_groups[BL_SEED_NGROUPS] = {
	[BL_SEED_GROUP_VIP] = { "VIP", "VIP 고객", "멤버십 VIP: 프리미엄 요금제 고객 (약 5%)" },
	[BL_SEED_GROUP_SMS] = { "SMS_PREFERRED", "SMS 선호 고객", "청구서를 SMS로 받는 고객" },
	[BL_SEED_GROUP_YOUTH] = { "YOUTH", "청소년 요금제 고객", "청소년 요금제 가입자" },
};

/* ---- names ---- */

typedef struct {
	const char *hangul, *latin;
	unsigned weight;
} syllable;

/* Surnames weighted roughly as in the 2015 census (per 10,000). */
static const syllable SURNAMES[] = {
	{ "김", "kim", 2150 }, { "이", "lee", 1470 }, { "박", "park", 840 }, { "최", "choi", 470 },
	{ "정", "jung", 430 }, { "강", "kang", 230 }, { "조", "cho", 210 }, { "윤", "yoon", 210 },
	{ "장", "jang", 200 }, { "임", "lim", 170 }, { "한", "han", 150 }, { "오", "oh", 150 },
	{ "서", "seo", 150 }, { "신", "shin", 150 }, { "권", "kwon", 140 }, { "황", "hwang", 140 },
	{ "안", "ahn", 140 }, { "송", "song", 130 }, { "류", "ryu", 120 }, { "전", "jeon", 110 },
	{ "홍", "hong", 110 }, { "고", "ko", 90 }, { "문", "moon", 90 }, { "양", "yang", 90 },
	{ "손", "son", 90 }, { "배", "bae", 80 }, { "백", "baek", 80 }, { "허", "heo", 60 },
	{ "유", "yoo", 60 }, { "남", "nam", 50 }, { "심", "shim", 50 }, { "노", "noh", 40 },
	{ "하", "ha", 40 }, { "곽", "kwak", 40 }, { "성", "sung", 40 }, { "차", "cha", 40 },
	{ "주", "joo", 40 }, { "우", "woo", 40 }, { "구", "koo", 40 }, { "민", "min", 30 },
};
#define NSURNAMES (sizeof SURNAMES / sizeof SURNAMES[0])

static const syllable GIVEN1[] = {
	{ "민", "min", 1 }, { "서", "seo", 1 }, { "지", "ji", 1 }, { "도", "do", 1 },
	{ "하", "ha", 1 }, { "예", "ye", 1 }, { "수", "su", 1 }, { "주", "ju", 1 },
	{ "준", "jun", 1 }, { "시", "si", 1 }, { "은", "eun", 1 }, { "유", "yu", 1 },
	{ "현", "hyun", 1 }, { "태", "tae", 1 }, { "승", "seung", 1 }, { "재", "jae", 1 },
	{ "동", "dong", 1 }, { "성", "sung", 1 }, { "영", "young", 1 }, { "혜", "hye", 1 },
	{ "상", "sang", 1 }, { "정", "jung", 1 }, { "윤", "yoon", 1 }, { "다", "da", 1 },
	{ "소", "so", 1 }, { "채", "chae", 1 }, { "건", "geon", 1 }, { "우", "woo", 1 },
	{ "나", "na", 1 }, { "경", "kyung", 1 },
};
static const syllable GIVEN2[] = {
	{ "준", "jun", 1 }, { "우", "woo", 1 }, { "윤", "yoon", 1 }, { "서", "seo", 1 },
	{ "현", "hyun", 1 }, { "연", "yeon", 1 }, { "진", "jin", 1 }, { "민", "min", 1 },
	{ "아", "a", 1 }, { "호", "ho", 1 }, { "원", "won", 1 }, { "빈", "bin", 1 },
	{ "희", "hee", 1 }, { "은", "eun", 1 }, { "영", "young", 1 }, { "수", "su", 1 },
	{ "혁", "hyuk", 1 }, { "훈", "hoon", 1 }, { "린", "rin", 1 }, { "율", "yul", 1 },
	{ "석", "seok", 1 }, { "철", "cheol", 1 }, { "미", "mi", 1 }, { "경", "kyung", 1 },
	{ "환", "hwan", 1 }, { "주", "ju", 1 }, { "하", "ha", 1 }, { "인", "in", 1 },
	{ "지", "ji", 1 }, { "솔", "sol", 1 },
};
#define NGIVEN1 (sizeof GIVEN1 / sizeof GIVEN1[0])
#define NGIVEN2 (sizeof GIVEN2 / sizeof GIVEN2[0])

static const weighted DOMAIN_MIX[] = { { 0, 40 }, { 1, 25 }, { 2, 12 }, { 3, 8 }, { 4, 10 }, { 5, 5 } };
static const char *const DOMAINS[] = { "naver.com", "gmail.com", "daum.net",
				       "kakao.com", "hanmail.net", "nate.com" };

static const syllable *pick_surname(bl__rng *r)
{
	unsigned total = 0;
	for (size_t k = 0; k < NSURNAMES; k++)
		total += SURNAMES[k].weight;
	unsigned x = bl__rng_below(r, total);
	for (size_t k = 0; k < NSURNAMES; k++) {
		if (x < SURNAMES[k].weight)
			return &SURNAMES[k];
		x -= SURNAMES[k].weight;
	}
	return &SURNAMES[0];
}

/*
 * The phone number of subscriber i: (i * A + B) mod 10^8 is a bijection of
 * the residues mod 10^8 (A is odd and not a multiple of 5, so it is prime
 * to 10^8), hence unique for i in 1..10^8.  It does not depend on the seed,
 * so a database grown with several seeds still has unique numbers.
 */
#define PHONE_A 58329401ULL
#define PHONE_B 27182818ULL
#define PHONE_SPACE 100000000ULL

static void make_phone(int64_t i, char out[16])
{
	unsigned p = (unsigned)(((uint64_t)i * PHONE_A + PHONE_B) % PHONE_SPACE);
	snprintf(out, 16, "010-%04u-%04u", p / 10000, p % 10000);
}

static void make_profile(uint64_t seed, int64_t i, bl__seed_profile *p)
{
	bl__rng r;
	bl__rng_init(&r, seed, STREAM_PROFILE, (uint64_t)i);
	memset(p, 0, sizeof *p);
	p->plan = PICK(&r, PLAN_MIX);
	int64_t price = service_price(p->plan);
	unsigned nv = bl__rng_below(&r, 1000);
	p->nvas = nv < 300 ? 0 : nv < 700 ? 1 : 2; /* mean 1 */
	for (int k = 0; k < p->nvas; k++) {
		int v;
		do
			v = PICK(&r, VAS_MIX);
		while (k == 1 && v == p->vas[0]);
		p->vas[k] = v;
	}
	if (bl__rng_permille(&r, 550))
		p->contract = price * 25 / 100;
	if (bl__rng_permille(&r, 300))
		p->bundle = bl__rng_below(&r, 10) < 6 ? 5500 : 11000;
	/* 멤버십: a third of the premium plans (≈10 % of subscribers) */
	bool premium = price >= 75000, member = premium && bl__rng_below(&r, 3) == 0;
	if (member) {
		p->premier = price >= 85000 ? 5000 : 3300;
		if (p->nvas > 0 && bl__rng_permille(&r, 400))
			p->vas_premier = 3300;
		if (bl__rng_below(&r, 2) == 0)
			p->groups |= 1u << BL_SEED_GROUP_VIP; /* ≈5 % */
	}
	if (p->plan == SVC_YOUTH)
		p->groups |= 1u << BL_SEED_GROUP_YOUTH;
}

void bl__seed_user_make(uint64_t seed, int64_t i, bl__seed_user *u)
{
	bl__rng r;
	bl__rng_init(&r, seed, STREAM_USER, (uint64_t)i);
	const syllable *sur = pick_surname(&r);
	const syllable *g1 = &GIVEN1[bl__rng_below(&r, NGIVEN1)];
	const syllable *g2 = &GIVEN2[bl__rng_below(&r, NGIVEN2)];
	if (!strcmp(g1->hangul, g2->hangul)) /* 지지, 민민: draw once more */
		g2 = &GIVEN2[bl__rng_below(&r, NGIVEN2)];
	snprintf(u->name, sizeof u->name, "%s%s%s", sur->hangul, g1->hangul, g2->hangul);
	make_phone(i, u->phone);
	/* The local part ends with the digits of i after a letter or '_', so it
	 * is unique whatever the romanised prefix and the domain. */
	const char *dom = DOMAINS[PICK(&r, DOMAIN_MIX)];
	long long n = (long long)i;
	switch (bl__rng_below(&r, 4)) {
	case 0:
		snprintf(u->email, sizeof u->email, "%s%s.%s%lld@%s", g1->latin, g2->latin, sur->latin,
			 n, dom);
		break;
	case 1:
		snprintf(u->email, sizeof u->email, "%s%s%s%lld@%s", sur->latin, g1->latin, g2->latin,
			 n, dom);
		break;
	case 2:
		snprintf(u->email, sizeof u->email, "%s%s_%lld@%s", g1->latin, g2->latin, n, dom);
		break;
	default:
		snprintf(u->email, sizeof u->email, "%c%c%s%lld@%s", g1->latin[0], g2->latin[0],
			 sur->latin, n, dom);
		break;
	}
	u->sms_preferred = bl__rng_permille(&r, 300);
	u->consent_email = bl__rng_permille(&r, 950);
	u->consent_sms = bl__rng_permille(&r, 900);
	make_profile(seed, i, &u->profile);
	if (u->sms_preferred)
		u->profile.groups |= 1u << BL_SEED_GROUP_SMS;
}

/* ---- charges ---- */

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/* A random second of the month as Seoul wall-clock "YYYY-MM-DD HH:MM:SS". */
static void random_time(bl__rng *r, int y, int m, char out[20])
{
	unsigned s = bl__rng_below(r, (uint32_t)days_in_month(y, m) * 86400u);
	unsigned day = s / 86400 + 1, hh = s % 86400 / 3600, mm = s % 3600 / 60, ss = s % 60;
	put2(out, (unsigned)y / 100);
	put2(out + 2, (unsigned)y % 100);
	out[4] = '-';
	put2(out + 5, (unsigned)m);
	out[7] = '-';
	put2(out + 8, day);
	out[10] = ' ';
	put2(out + 11, hh);
	out[13] = ':';
	put2(out + 14, mm);
	out[16] = ':';
	put2(out + 17, ss);
	out[19] = '\0';
}

/* A small-payment amount: 1,000 .. 50,000 in steps of 100, mostly small. */
static int64_t mcp_amount(bl__rng *r, int service)
{
	if (service == SVC_TRANSIT)
		return 10000 * (int64_t)(1 + bl__rng_below(r, 5));
	unsigned tier = bl__rng_below(r, 100);
	if (tier < 70)
		return 1000 + 100 * (int64_t)bl__rng_below(r, 91);   /* 1,000 .. 10,000 */
	if (tier < 95)
		return 10000 + 100 * (int64_t)bl__rng_below(r, 201); /* 10,000 .. 30,000 */
	return 30000 + 100 * (int64_t)bl__rng_below(r, 201);          /* 30,000 .. 50,000 */
}

int bl__seed_charges_make(uint64_t seed, int year, int mon, int64_t i, unsigned invalid_permille,
			  bl__seed_charge out[BL_SEED_MAX_CHARGES], bool *invalid)
{
	bl__seed_profile p;
	make_profile(seed, i, &p);
	bl__rng r;
	uint64_t month_key = (uint64_t)year * 12 + (uint64_t)(mon - 1);
	bl__rng_init(&r, seed, (uint64_t)STREAM_MONTH << 32 | month_key, (uint64_t)i);
	int n = 0;
	bl__seed_charge *c = &out[n++];
	memset(c, 0, sizeof *c);
	c->service_id = p.plan;
	c->price = service_price(p.plan);
	c->contract = p.contract;
	c->bundle = p.bundle;
	c->premier = p.premier;
	random_time(&r, year, mon, c->created_at);
	for (int k = 0; k < p.nvas; k++) {
		c = &out[n++];
		memset(c, 0, sizeof *c);
		c->service_id = p.vas[k];
		c->price = service_price(p.vas[k]);
		c->premier = k == 0 ? p.vas_premier : 0;
		/* ≈1 % of VAS lines: a promotion worth more than the service, so
		 * the statement's cap (discount ≤ price) has work to do */
		if (bl__rng_permille(&r, 10))
			c->premier = c->price + 100 * (int64_t)(1 + bl__rng_below(&r, 50));
		random_time(&r, year, mon, c->created_at);
	}
	unsigned nm = bl__rng_below(&r, 1000);
	int nmcp = nm < 350 ? 0 : nm < 650 ? 1 : 2; /* mean 1 */
	for (int k = 0; k < nmcp; k++) {
		c = &out[n++];
		memset(c, 0, sizeof *c);
		c->service_id = PICK(&r, MCP_MIX);
		c->price = mcp_amount(&r, c->service_id);
		random_time(&r, year, mon, c->created_at);
	}
	bl__rng ri;
	bl__rng_init(&ri, seed, (uint64_t)STREAM_INVALID << 32 | month_key, (uint64_t)i);
	*invalid = bl__rng_below(&ri, 1000) < invalid_permille;
	if (*invalid) {
		c = &out[n++];
		memset(c, 0, sizeof *c);
		if (bl__rng_below(&ri, 2) == 0) { /* INVALID_CHARGE: a negative amount */
			c->service_id = PICK(&ri, MCP_MIX);
			c->price = -(1000 + 100 * (int64_t)bl__rng_below(&ri, 491));
		} else { /* UNKNOWN_SERVICE */
			c->service_id = BL_SEED_UNKNOWN_SERVICE;
			c->price = 1000 + 100 * (int64_t)bl__rng_below(&ri, 491);
		}
		random_time(&ri, year, mon, c->created_at);
	}
	return n;
}
