"""Context methods for real e-mail: the suppression list, unsubscribe tokens
and bounce (DSN) ingestion (email.h, docs/email.md).  Mixed into
billing.Context."""

from ctypes import byref, c_bool, c_int, c_int64

from . import _ffi
from ._ffi import enc, lib, take_string
from .core import CHANNELS, _enum, _json_out, _out, _struct_dict

_CHANNEL_NAMES = {v: k for k, v in CHANNELS.items()}


class MailMixin:
    # -- the suppression list --
    def suppression_add(self, email, reason="MANUAL", note=None, actor=None):
        """bl_suppression_add: never e-mail `email` again (Conflict when listed; audited)."""
        lib().bl_suppression_add(self.handle, enc(email), enc(reason), enc(note), enc(actor))

    def suppression_remove(self, entry_id, actor=None):
        """bl_suppression_remove: remove an entry by id (NotFound when none; audited)."""
        lib().bl_suppression_remove(self.handle, entry_id, enc(actor))

    def suppression_check(self, email):
        """bl_suppression_check: whether `email` is listed."""
        listed = c_bool(False)
        lib().bl_suppression_check(self.handle, enc(email), byref(listed))
        return listed.value

    def suppression_list(self, after_id=0, limit=100):
        """bl_suppression_list: entries after `after_id` (addresses masked)."""
        out = _out()
        lib().bl_suppression_list(self.handle, after_id, limit, byref(out))
        return _json_out(out)

    # -- one-click unsubscribe --
    def unsubscribe_token(self, user_id, channel="EMAIL"):
        """bl_unsubscribe_token: the signed token of the unsubscribe link (no personal data)."""
        out = _out()
        lib().bl_unsubscribe_token(self.handle, user_id, _enum(CHANNELS, channel, "channel"), byref(out))
        return take_string(out)

    def unsubscribe_verify(self, token):
        """bl_unsubscribe_verify: (user_id, channel) of a token; changes nothing.
        InvalidArgument (malformed) or CryptoError (tampered) otherwise."""
        uid, ch = c_int64(), c_int()
        lib().bl_unsubscribe_verify(self.handle, enc(token), byref(uid), byref(ch))
        return uid.value, _CHANNEL_NAMES.get(ch.value, ch.value)

    def unsubscribe_rate_take(self, client):
        """bl_unsubscribe_rate_take: count one request of `client`; RateLimited
        (with .retry_after) past BILLING_UNSUBSCRIBE_LIMIT per window."""
        wait = c_int64()
        try:
            lib().bl_unsubscribe_rate_take(self.handle, enc(client), byref(wait))
        except Exception as e:
            e.retry_after = wait.value
            raise

    def unsubscribe_apply(self, token, client=None):
        """bl_unsubscribe_apply: the token's consent off (audited) → (user_id, channel)."""
        uid, ch = c_int64(), c_int()
        lib().bl_unsubscribe_apply(self.handle, enc(token), enc(client), byref(uid), byref(ch))
        return uid.value, _CHANNEL_NAMES.get(ch.value, ch.value)

    # -- bounces --
    def bounces_ingest(self, maildir):
        """bl_bounces_ingest: read the DSNs of `maildir` → {"files","hard","soft","ignored","rejected"}."""
        st = _ffi.BounceStats()
        lib().bl_bounces_ingest(self.handle, enc(maildir), byref(st))
        return _struct_dict(st)
