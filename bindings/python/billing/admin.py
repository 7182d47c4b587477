"""Context methods for groups, admin users and the audit log (group.h,
admin.h).  Mixed into billing.Context."""

import ctypes
from ctypes import byref, c_int, c_int64

from . import _ffi, errors
from ._ffi import dec, enc, lib
from .core import _json_arg, _json_out, _out


def role_parse(role):
    """bl_admin_role_parse: "admin", "OPERATOR", ... → its number."""
    if isinstance(role, int):
        return role
    out = c_int()
    lib().bl_admin_role_parse(enc(role), byref(out))
    return out.value


def role_name(role):
    """bl_admin_role_name."""
    return dec(lib().bl_admin_role_name(role))


def _session_dict(s):
    return {"admin_id": s.admin_id, "username": dec(s.username), "role": role_name(s.role),
            "csrf_token": dec(s.csrf_token), "expires_at": s.expires_at}


def session_csrf_check(session, token):
    """bl_session_csrf_check: AuthError unless `token` is the session's CSRF token."""
    s = _ffi.Session()
    s.admin_id, s.username = session["admin_id"], enc(session["username"])
    s.role = role_parse(session["role"])
    s.csrf_token, s.expires_at = enc(session["csrf_token"]), session["expires_at"]
    lib().bl_session_csrf_check(byref(s), enc(token))


class AdminMixin:
    # -- group.h --
    def group_create(self, code, name, description=None):
        """bl_group_create → id."""
        gid = c_int64()
        lib().bl_group_create(self.handle, enc(code), enc(name), enc(description), byref(gid))
        return gid.value

    def group_list(self):
        """bl_group_list."""
        out = _out()
        lib().bl_group_list(self.handle, byref(out))
        return _json_out(out)

    def group_get(self, code):
        """bl_group_get."""
        out = _out()
        lib().bl_group_get(self.handle, enc(code), byref(out))
        return _json_out(out)

    def group_update(self, code, name, description=None):
        """bl_group_update."""
        lib().bl_group_update(self.handle, enc(code), enc(name), enc(description))

    def group_delete(self, code):
        """bl_group_delete."""
        lib().bl_group_delete(self.handle, enc(code))

    def group_add(self, code, user_id):
        """bl_group_add."""
        lib().bl_group_add(self.handle, enc(code), user_id)

    def group_remove(self, code, user_id):
        """bl_group_remove."""
        lib().bl_group_remove(self.handle, enc(code), user_id)

    def group_members(self, code, after_id=0, limit=100):
        """bl_group_members."""
        out = _out()
        lib().bl_group_members(self.handle, enc(code), after_id, limit, byref(out))
        return _json_out(out)

    # -- admin.h --
    def admin_create(self, username, password, role="VIEWER"):
        """bl_admin_create → id."""
        aid = c_int64()
        lib().bl_admin_create(self.handle, enc(username), enc(password),
                              role_parse(role), byref(aid))
        return aid.value

    def admin_passwd(self, username, password):
        """bl_admin_passwd."""
        lib().bl_admin_passwd(self.handle, enc(username), enc(password))

    def admin_verify(self, username, password):
        """bl_admin_verify → (id, role name); AuthError on failure."""
        aid, role = c_int64(), c_int()
        lib().bl_admin_verify(self.handle, enc(username), enc(password), byref(aid), byref(role))
        return aid.value, role_name(role.value)

    def admin_list(self):
        """bl_admin_list."""
        out = _out()
        lib().bl_admin_list(self.handle, byref(out))
        return _json_out(out)

    def audit_record(self, actor, action, target, detail=None):
        """bl_audit_record."""
        lib().bl_audit_record(self.handle, enc(actor), enc(action), enc(target),
                              _json_arg(detail))

    def audit_list(self, before_id=0, limit=100):
        """bl_audit_list: newest first."""
        out = _out()
        lib().bl_audit_list(self.handle, before_id, limit, byref(out))
        return _json_out(out)

    # -- session.h --
    def session_login(self, username, password, client=None):
        """bl_session_login → (session id, session dict).  AuthError on a wrong
        login; when rate-limited its `retry_after` (seconds) is > 0."""
        o = _ffi.LoginOpts()
        L = lib()
        L.bl_login_opts_init(byref(o), _ffi.LoginOpts.VERSION)
        o.username, o.password, o.client = enc(username), enc(password), enc(client)
        sid = ctypes.create_string_buffer(_ffi.SESSION_TOKEN_LEN + 1)
        s, retry = _ffi.Session(), c_int(0)
        try:
            L.bl_session_login(self.handle, byref(o), sid, byref(s), byref(retry))
        except errors.AuthError as e:
            e.retry_after = retry.value
            raise
        return sid.value.decode(), _session_dict(s)

    def session_create(self, admin_id, client=None):
        """bl_session_create → (session id, session dict)."""
        sid = ctypes.create_string_buffer(_ffi.SESSION_TOKEN_LEN + 1)
        s = _ffi.Session()
        lib().bl_session_create(self.handle, admin_id, enc(client), sid, byref(s))
        return sid.value.decode(), _session_dict(s)

    def session_check(self, sid):
        """bl_session_check → the session dict (AuthError when invalid)."""
        s = _ffi.Session()
        lib().bl_session_check(self.handle, enc(sid), byref(s))
        return _session_dict(s)

    def user_search_as(self, sid, name=None, phone=None, email=None, plan_code=None, after_id=0,
                       limit=100):
        """bl_user_search_as: bl_user_search on behalf of the admin of session `sid`.
        By phone or e-mail it needs OPERATOR or ADMIN (AuthError), is audited and
        limited per admin (RateLimited, with .retry_after in seconds)."""
        L = lib()
        s = _ffi.Session()
        L.bl_session_check(self.handle, enc(sid), byref(s))
        f = _ffi.UserFilter()
        L.bl_user_filter_init(byref(f), _ffi.UserFilter.VERSION)
        f.name, f.phone, f.email, f.plan_code = enc(name), enc(phone), enc(email), enc(plan_code)
        f.after_id, f.limit = after_id, limit
        out, retry = _out(), c_int()
        try:
            L.bl_user_search_as(self.handle, byref(s), byref(f), byref(out), byref(retry))
        except errors.RateLimited as e:
            e.retry_after = retry.value
            raise
        return _json_out(out)

    def session_end(self, sid):
        """bl_session_end (logout)."""
        lib().bl_session_end(self.handle, enc(sid))

    def session_purge(self):
        """bl_session_purge → how many expired sessions were deleted."""
        n = c_int64()
        lib().bl_session_purge(self.handle, byref(n))
        return n.value
