"""The Context handle (bl_ctx) and connect()."""

import ctypes
from ctypes import byref, c_bool, c_int, c_int64, c_size_t, c_void_p

from . import _ffi, errors
from ._ffi import dec, enc, lib, take_bytes, take_string
from .admin import AdminMixin
from .core import (CHANNELS, CREATED_BY, PII_KINDS, Config, StopFlag, _Callback, _enum, _json_arg,
                   _json_out, _out, _struct_dict, batch_mode_parse)
from .mail import MailMixin
from .messaging import MessagingMixin


def connect(config=None, env_file=None, **settings):
    """A Context.  `config`: a Config (copied), or None to load one like the
    C library (`env_file`, then the environment); `settings` override.

        with billing.connect(MYSQL_DATABASE="billing_system") as ctx:
            ctx.ping_db()
    """
    if config is None:
        with Config.load(env_file, **settings) as cfg:
            return Context(cfg)
    if settings:
        with config.copy() as cfg:
            cfg.update(settings)
            return Context(cfg)
    return Context(config)


# ----------------------------------------------------------------- Context --

class Context(MessagingMixin, MailMixin, AdminMixin):
    """A bl_ctx: configuration plus one MariaDB and one Redis connection.

    Connections open lazily.  Like the C context it is not shared between
    threads: use one Context per thread.  Close it (or use `with`) to release
    the connections.
    """

    def __init__(self, config=None):
        h = c_void_p()
        lib().bl_ctx_new(byref(h), config.handle if config is not None else None)
        self._h = h

    @property
    def handle(self):
        if not self._h.value:
            raise errors.BillingError("the context is closed")
        return self._h

    def close(self):
        """bl_ctx_free (idempotent)."""
        if self._h.value:
            lib().bl_ctx_free(self._h)
            self._h.value = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- clock.h --
    def set_time(self, unix_us):
        """bl_ctx_set_time: a clock that stands still at unix_us (µs since the epoch)."""
        lib().bl_ctx_set_time(self.handle, int(unix_us))

    def set_clock(self, fn):
        """bl_ctx_set_clock: fn() -> µs since the epoch becomes this context's
        clock (None: the system clock).  fn may be called from the library's
        threads while a call of this context runs."""
        if fn is None:
            self._clock_cb = None
            lib().bl_ctx_set_clock(self.handle, _ffi.CLOCK_FN(), None)
            return
        cb = _ffi.CLOCK_FN(lambda _payload: int(fn()))
        lib().bl_ctx_set_clock(self.handle, cb, None)
        self._clock_cb = cb           # keep it alive as long as the context uses it

    def now(self):
        """bl_ctx_now: this context's time in µs since the epoch."""
        return lib().bl_ctx_now(self.handle)

    # -- context.h --
    def setting(self, key):
        """bl_ctx_config + bl_config_get: a setting of this context."""
        L = lib()
        v = L.bl_config_get(L.bl_ctx_config(self.handle), enc(key))
        return dec(v)

    @property
    def actor(self):
        """bl_ctx_actor: who this context's changes are audited as (None: "system")."""
        return dec(lib().bl_ctx_actor(self.handle))

    @actor.setter
    def actor(self, name):
        """bl_ctx_set_actor (None: no actor)."""
        lib().bl_ctx_set_actor(self.handle, enc(name) if name is not None else None)

    def ping_db(self):
        """bl_ctx_ping_db."""
        lib().bl_ctx_ping_db(self.handle)

    def ping_redis(self):
        """bl_ctx_ping_redis."""
        lib().bl_ctx_ping_redis(self.handle)

    def create_database(self):
        """bl_ctx_create_database: create MYSQL_DATABASE when missing."""
        lib().bl_ctx_create_database(self.handle)

    def drop_database(self):
        """bl_ctx_drop_database (tests only)."""
        lib().bl_ctx_drop_database(self.handle)

    # -- migrate.h --
    def migrate(self, directory=None):
        """bl_migrate / bl_migrate_dir: apply pending migrations → how many ran."""
        n = c_int()
        if directory is None:
            lib().bl_migrate(self.handle, byref(n))
        else:
            lib().bl_migrate_dir(self.handle, enc(directory), byref(n))
        return n.value

    def migrate_version(self):
        """bl_migrate_version: the highest applied migration."""
        v = c_int()
        lib().bl_migrate_version(self.handle, byref(v))
        return v.value

    # -- seed.h --
    def seed(self, users, month, seed=1, invalid_permille=None, progress=None):
        """bl_seed_run: generate subscribers and `month`'s charges → stats dict.

        `progress(done, total)` is called as rows are written.
        """
        o = _ffi.SeedOpts()
        L = lib()
        L.bl_seed_opts_init(byref(o), _ffi.SeedOpts.VERSION)
        o.users, o.month, o.seed = users, enc(month), seed
        if invalid_permille is not None:
            o.invalid_permille = invalid_permille
        cb = None
        if progress is not None:
            cb = _Callback(_ffi.SEED_PROGRESS_CB, lambda done, total, _p: progress(done, total))
            o.progress_cb = cb.c
        st = _ffi.SeedStats()
        try:
            L.bl_seed_run(self.handle, byref(o), byref(st))
        finally:
            if cb:
                cb.reraise()
        return _struct_dict(st)

    # -- users --
    def user_create(self, name, phone, email, preferred_channel="EMAIL", consent_email=True,
                    consent_sms=True):
        """bl_user_create → the new subscriber's id (Conflict when phone/e-mail is taken)."""
        o = _ffi.UserOpts()
        L = lib()
        L.bl_user_opts_init(byref(o), _ffi.UserOpts.VERSION)
        o.name, o.phone, o.email = enc(name), enc(phone), enc(email)
        o.preferred_channel = _enum(CHANNELS, preferred_channel, "channel")
        o.consent_email, o.consent_sms = bool(consent_email), bool(consent_sms)
        uid = c_int64()
        L.bl_user_create(self.handle, byref(o), byref(uid))
        return uid.value

    def user_get(self, user_id, reveal=False):
        """bl_user_get: the subscriber as a dict (phone/e-mail masked unless `reveal`)."""
        out = _out()
        lib().bl_user_get(self.handle, user_id, bool(reveal), byref(out))
        return _json_out(out)

    def user_find_by_phone(self, phone):
        """bl_user_find_by_phone → id (NotFound)."""
        uid = c_int64()
        lib().bl_user_find_by_phone(self.handle, enc(phone), byref(uid))
        return uid.value

    def user_find_by_email(self, email):
        """bl_user_find_by_email → id (NotFound)."""
        uid = c_int64()
        lib().bl_user_find_by_email(self.handle, enc(email), byref(uid))
        return uid.value

    def template_draft_render(self, src, data=None, html=False):
        """bl_template_draft_render: render a draft within this context's limits
        (BILLING_TEMPLATE_MAX_STEPS / _MAX_OUTPUT); InvalidArgument past them."""
        out = _out()
        lib().bl_template_draft_render(self.handle, enc(src), _json_arg(data if data is not None else {}),
                                       html, byref(out))
        return take_string(out)

    def user_search(self, name=None, phone=None, email=None, plan_code=None, after_id=0,
                    limit=100):
        """bl_user_search: subscribers matching every given criterion (masked)."""
        f = _ffi.UserFilter()
        L = lib()
        L.bl_user_filter_init(byref(f), _ffi.UserFilter.VERSION)
        f.name, f.phone, f.email, f.plan_code = enc(name), enc(phone), enc(email), enc(plan_code)
        f.after_id, f.limit = after_id, limit
        out = _out()
        L.bl_user_search(self.handle, byref(f), byref(out))
        return _json_out(out)

    # -- crypto.h --
    def pii_encrypt(self, kind, value):
        """bl_pii_encrypt → nonce||ciphertext bytes."""
        out, n = _out(), c_size_t()
        lib().bl_pii_encrypt(self.handle, _enum(PII_KINDS, kind, "kind"), enc(value),
                             byref(out), byref(n))
        return take_bytes(out, n.value)

    def pii_decrypt(self, kind, data):
        """bl_pii_decrypt (CryptoError on a wrong key or changed bytes)."""
        out = _out()
        lib().bl_pii_decrypt(self.handle, _enum(PII_KINDS, kind, "kind"), bytes(data),
                             len(data), byref(out))
        return take_string(out)

    def pii_blind_index(self, kind, value):
        """bl_pii_blind_index → 16 bytes."""
        buf = ctypes.create_string_buffer(_ffi.BLIND_INDEX_BYTES)
        lib().bl_pii_blind_index(self.handle, _enum(PII_KINDS, kind, "kind"), enc(value), buf)
        return buf.raw

    # -- statements --
    def statement(self, user_id, month):
        """bl_statement_get: the statement of (user, month) with its "lines" (NotFound)."""
        out = _out()
        lib().bl_statement_get(self.handle, user_id, enc(month), byref(out))
        return _json_out(out)

    def statement_search(self, month=None, user_id=0, min_billed=0, max_billed=-1, after_id=0,
                         limit=100):
        """bl_statement_search: statements (without lines) in id order after `after_id`;
        `max_billed` < 0: no upper bound."""
        out = _out()
        lib().bl_statement_search(self.handle, enc(month), user_id, min_billed, max_billed,
                                  after_id, limit, byref(out))
        return _json_out(out)

    def statements(self, month=None, page=1000, **filter):
        """Every statement matching (pages through statement_search)."""
        after = filter.pop("after_id", 0)
        while True:
            rows = self.statement_search(month, after_id=after, limit=page, **filter)
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1]["id"]

    # -- batch.h --
    def _batch_opts(self, mode, partitions, chunk_size, created_by, progress, on_complete,
                    stop, allow_future=False, allow_empty=False):
        o = _ffi.BatchOpts()
        lib().bl_batch_opts_init(byref(o), _ffi.BatchOpts.VERSION)
        o.allow_future = bool(allow_future)
        o.allow_empty = bool(allow_empty)
        if mode is not None:
            o.mode = batch_mode_parse(mode)
        if partitions is not None:
            o.partitions = partitions
        if chunk_size is not None:
            o.chunk_size = chunk_size
        if created_by is not None:
            o.created_by = _enum(CREATED_BY, created_by, "created_by")
        stop = stop or StopFlag()
        o.cancel = ctypes.pointer(stop._c)
        cbs = []
        if progress is not None:
            def on_progress(p, _payload):
                if progress(_struct_dict(p.contents)) is False:
                    stop.set()
            cb = _Callback(_ffi.BATCH_PROGRESS_CB, on_progress, stop)
            o.progress_cb = cb.c
            cbs.append(cb)
        if on_complete is not None:
            cb = _Callback(_ffi.BATCH_COMPLETE_CB,
                           lambda run_id, month, _p: on_complete(run_id, dec(month)), stop)
            o.complete_cb = cb.c
            cbs.append(cb)
        return o, cbs

    @staticmethod
    def _batch_call(fn, run_id_ref, cbs, *args):
        """Call a batch function; a BillingError gets `.run_id` (the run, once it
        exists); an exception of a callback wins over the Stopped it caused."""
        try:
            fn(*args)
        except errors.BillingError as e:
            e.run_id = run_id_ref.value or None
            for cb in cbs:
                cb.reraise()
            raise
        for cb in cbs:
            cb.reraise()

    def batch_check(self, month, mode=None, allow_future=False, allow_empty=False):
        """bl_batch_check: raise what batch_run would refuse (future month, no charges) without running."""
        opts, _cbs = self._batch_opts(mode, None, None, None, None, None, None, allow_future, allow_empty)
        lib().bl_batch_check(self.handle, enc(month), byref(opts))

    def batch_run(self, month, mode=None, partitions=None, chunk_size=None, created_by=None,
                  progress=None, on_complete=None, stop=None, allow_future=False, allow_empty=False):
        """bl_batch_run: issue `month`'s statements → the run id once it COMPLETED.

        `mode`: "normal", "failed-only", "dry-run", "reissue".
        `progress(dict)` is called after each chunk (from the library's
        worker threads) with run_id, total, processed, issued, skipped,
        failed; returning False stops the run.  `on_complete(run_id, month)`
        when it completes.  `stop`: a StopFlag to stop it from elsewhere.
        A stopped run raises Stopped with `.run_id`; an exception raised by
        a callback stops the run and is re-raised here.  A month after the
        current one raises InvalidArgument unless `allow_future`; a month
        without charges raises Conflict unless `allow_empty`.
        """
        opts, cbs = self._batch_opts(mode, partitions, chunk_size, created_by, progress,
                                     on_complete, stop, allow_future, allow_empty)
        run_id = c_int64()
        self._batch_call(lib().bl_batch_run, run_id, cbs, self.handle, enc(month),
                         byref(opts), byref(run_id))
        return run_id.value

    def batch_resume(self, run_id, partitions=None, chunk_size=None, progress=None,
                     on_complete=None, stop=None):
        """bl_batch_resume: continue a STOPPED or FAILED run from its checkpoint."""
        opts, cbs = self._batch_opts(None, partitions, chunk_size, None, progress,
                                     on_complete, stop)
        self._batch_call(lib().bl_batch_resume, c_int64(run_id), cbs, self.handle,
                         run_id, byref(opts))

    def batch_join(self, run_id, partitions=None, progress=None, stop=None):
        """bl_batch_join: help with a STARTED run owned by another process."""
        opts, cbs = self._batch_opts(None, partitions, None, None, progress, None, stop)
        self._batch_call(lib().bl_batch_join, c_int64(run_id), cbs, self.handle,
                         run_id, byref(opts))

    def batch_stop(self, run_id):
        """bl_batch_stop: ask a run to stop after its current chunks."""
        lib().bl_batch_stop(self.handle, run_id)

    def batch_recover(self):
        """bl_batch_recover: mark orphaned STARTED runs FAILED → how many."""
        n = c_int()
        lib().bl_batch_recover(self.handle, byref(n))
        return n.value

    def batch_status(self, run_id):
        """bl_batch_progress_get: counts of a run as a dict."""
        p = _ffi.BatchProgress()
        lib().bl_batch_progress_get(self.handle, run_id, byref(p))
        return _struct_dict(p)

    def batch_get(self, run_id):
        """bl_batch_get: a run with its failures (up to 100)."""
        out = _out()
        lib().bl_batch_get(self.handle, run_id, byref(out))
        return _json_out(out)

    def batch_list(self, month=None, limit=20):
        """bl_batch_list: runs, newest first, optionally of one month."""
        out = _out()
        lib().bl_batch_list(self.handle, enc(month), limit, byref(out))
        return _json_out(out)

    def batch_due(self, now=0):
        """bl_batch_due: the month to bill when the monthly slot has come (claimed
        once across processes), else None."""
        due = c_bool()
        buf = ctypes.create_string_buffer(8)
        lib().bl_batch_due(self.handle, now, byref(due), buf)
        return buf.value.decode() if due.value else None
