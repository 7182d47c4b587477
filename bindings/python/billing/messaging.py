"""Context methods for templates, retry policies and messages (template.h,
retry.h, message.h).  Mixed into billing.Context."""

import ctypes
from ctypes import byref, c_int, c_int64

from . import _ffi
from ._ffi import dec, enc, lib
from .core import (CHANNELS, StopFlag, _Callback, _enum, _json_arg, _json_out, _message_filter,
                   _out, _struct_dict, _template_opts)


class MessagingMixin:
    # -- template.h --
    def template_save(self, code, name, **fields):
        """bl_template_save: store a new version → (template_id, version).

        Fields: channel ("EMAIL"/"SMS"), purpose ("BILLING"/"NOTICE"),
        subject, body_html, body_text, variables (dict or JSON), enabled,
        created_by, confirmed (a purpose change or a disable that affects
        pending work is refused with Conflict unless confirmed).
        InvalidArgument names the part, line and column.
        """
        opts = _template_opts(code, name, **fields)
        tid, ver = c_int64(), c_int()
        lib().bl_template_save(self.handle, byref(opts), byref(tid), byref(ver))
        return tid.value, ver.value

    def template_create(self, code, name, **fields):
        """bl_template_save with create_only: version 1 of a new code; Conflict when it exists."""
        return self.template_save(code, name, create_only=True, **fields)

    def template_usage(self, code):
        """bl_template_usage: pending messages and reservations that use the template."""
        out = _out()
        lib().bl_template_usage(self.handle, enc(code), byref(out))
        return _json_out(out)

    def template_get(self, code, version=0):
        """bl_template_get: one version (0: the latest)."""
        out = _out()
        lib().bl_template_get(self.handle, enc(code), version, byref(out))
        return _json_out(out)

    def template_list(self):
        """bl_template_list: the latest version of every template."""
        out = _out()
        lib().bl_template_list(self.handle, byref(out))
        return _json_out(out)

    def template_versions(self, code):
        """bl_template_versions: all versions of a template, newest first."""
        out = _out()
        lib().bl_template_versions(self.handle, enc(code), byref(out))
        return _json_out(out)

    def template_set_enabled(self, code, enabled):
        """bl_template_set_enabled."""
        lib().bl_template_set_enabled(self.handle, enc(code), bool(enabled))

    def template_preview(self, code, version=0, sample=None, statement_id=0):
        """bl_template_preview → {"subject","html","text","kind","bytes"}."""
        out = _out()
        lib().bl_template_preview(self.handle, enc(code), version, _json_arg(sample),
                                  statement_id, byref(out))
        return _json_out(out)

    # -- retry.h --
    def retry_policy(self, channel):
        """bl_retry_policy_from_config: the policy of "EMAIL" or "SMS"."""
        p = _ffi.RetryPolicy()
        L = lib()
        L.bl_retry_policy_from_config(L.bl_ctx_config(self.handle),
                                      _enum(CHANNELS, channel, "channel"), byref(p))
        return _struct_dict(p, skip=("version",))

    # -- message.h --
    def message_enqueue_statements(self, month, reservation_id=0):
        """bl_message_enqueue_statements: one billing message per statement → stats."""
        st = _ffi.EnqueueStats()
        lib().bl_message_enqueue_statements(self.handle, enc(month), reservation_id, byref(st))
        return _struct_dict(st)

    def message_send(self, user_id, template_code, params=None, idempotency_key=None):
        """bl_message_send: one message → its id (the same id for a repeated key)."""
        mid = c_int64()
        lib().bl_message_send(self.handle, user_id, enc(template_code), _json_arg(params),
                              enc(idempotency_key), byref(mid))
        return mid.value

    def relay_publish(self):
        """bl_relay_publish: publish due outbox rows → how many."""
        n = c_int64()
        lib().bl_relay_publish(self.handle, byref(n))
        return n.value

    def worker_run(self, threads=0, consumer=None, relay=True, maintenance=True,
                   idle_exit_ms=0, log=None, stop=None):
        """bl_worker_run: send messages until `stop` (a StopFlag) is set or, with
        idle_exit_ms > 0, nothing happened for that long.  `log(line)` gets the
        worker's log lines (from its threads)."""
        o = _ffi.WorkerOpts()
        L = lib()
        L.bl_worker_opts_init(byref(o), _ffi.WorkerOpts.VERSION)
        o.threads, o.consumer = threads, enc(consumer)
        o.relay, o.maintenance, o.idle_exit_ms = bool(relay), bool(maintenance), idle_exit_ms
        stop = stop or StopFlag()
        o.stop = ctypes.pointer(stop._c)
        cb = None
        if log is not None:
            cb = _Callback(_ffi.WORKER_LOG_CB, lambda line, _p: log(dec(line)), stop)
            o.log_cb = cb.c
        try:
            L.bl_worker_run(self.handle, byref(o))
        finally:
            if cb:
                cb.reraise()

    def message_maintain(self, consumer=None):
        """bl_message_maintain: one maintenance pass → rows touched."""
        n = c_int64()
        lib().bl_message_maintain(self.handle, enc(consumer), byref(n))
        return n.value

    def message_search(self, **filter):
        """bl_message_search: messages oldest first after `after_id`.

        Filter keys: status, channel, template_code, run_id, user_id,
        reservation_id, date_from, date_to ("YYYY-MM-DD[ HH:MM:SS]"), limit,
        after_id.
        """
        f = _message_filter(**filter)
        out = _out()
        lib().bl_message_search(self.handle, byref(f), byref(out))
        return _json_out(out)

    def messages(self, page=500, **filter):
        """Every message matching the filter (pages through message_search)."""
        after = filter.pop("after_id", 0)
        while True:
            rows = self.message_search(after_id=after, limit=page, **filter)
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1]["id"]

    def message_get(self, message_id):
        """bl_message_get: a message with its attempts (destination masked)."""
        out = _out()
        lib().bl_message_get(self.handle, message_id, byref(out))
        return _json_out(out)

    def message_retry(self, message_id):
        """bl_message_retry: retry one FAILED/EXCEEDED/DEAD message."""
        lib().bl_message_retry(self.handle, message_id)

    def message_retry_filter(self, **filter):
        """bl_message_retry_filter: retry every FAILED/DEAD match → how many."""
        filter.setdefault("limit", 1000)
        f = _message_filter(**filter)
        n = c_int64()
        lib().bl_message_retry_filter(self.handle, byref(f), byref(n))
        return n.value

    def message_stats(self):
        """bl_message_stats: counts by status and channel, sends per minute."""
        out = _out()
        lib().bl_message_stats(self.handle, byref(out))
        return _json_out(out)

    # -- reservation.h --
    def reservation_create(self, template_code=None, group_code=None, month=None,
                           scheduled_at=None, scheduled_unix=0, params=None, created_by=None):
        """bl_reservation_create: a WAITING reservation → its id.

        Target: `group_code` (a NOTICE template; "USER_ALL": everyone) or the
        statements of `month`.  When: `scheduled_at` "YYYY-MM-DD HH:MM[:SS]"
        (Asia/Seoul) or `scheduled_unix` (0: now).
        """
        o = _ffi.ReservationOpts()
        L = lib()
        L.bl_reservation_opts_init(byref(o), _ffi.ReservationOpts.VERSION)
        o.template_code, o.group_code, o.month = enc(template_code), enc(group_code), enc(month)
        o.scheduled_at, o.scheduled_unix = enc(scheduled_at), scheduled_unix
        o.params_json, o.created_by = _json_arg(params), enc(created_by)
        rid = c_int64()
        L.bl_reservation_create(self.handle, byref(o), byref(rid))
        return rid.value

    def reservation_cancel(self, reservation_id):
        """bl_reservation_cancel: cancel a WAITING reservation (Conflict otherwise)."""
        lib().bl_reservation_cancel(self.handle, reservation_id)

    def reservation_get(self, reservation_id):
        """bl_reservation_get: a reservation with its messages counted by status."""
        out = _out()
        lib().bl_reservation_get(self.handle, reservation_id, byref(out))
        return _json_out(out)

    def reservation_list(self, status=None, after_id=0, limit=100):
        """bl_reservation_list: oldest first after `after_id`."""
        out = _out()
        lib().bl_reservation_list(self.handle, enc(status), after_id, limit, byref(out))
        return _json_out(out)

    def reservation_tick(self, now=0):
        """bl_reservation_tick: expand every due reservation → messages created."""
        n = c_int64()
        lib().bl_reservation_tick(self.handle, now, byref(n))
        return n.value

    def reservation_after_batch(self, run_id, month=None):
        """bl_reservation_after_batch: the billing reservation of a completed run → id."""
        rid = c_int64()
        lib().bl_reservation_after_batch(self.handle, run_id, enc(month), byref(rid))
        return rid.value

    # -- stats.h --
    def holds(self):
        """bl_hold_list: what holds work back now (disabled templates, quiet hours, stopped runs, Redis)."""
        out = _out()
        lib().bl_hold_list(self.handle, byref(out))
        return _json_out(out)

    def stats(self, window_minutes=60):
        """bl_stats_get: dashboard statistics (messages, sends per minute, batches)."""
        out = _out()
        lib().bl_stats_get(self.handle, window_minutes, byref(out))
        return _json_out(out)
