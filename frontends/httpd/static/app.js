/* billing-httpd admin pages: progressive enhancements only (every form works without this).
 * - live batch progress: [data-progress-url] is polled every second until the run ends;
 * - live template preview: #template-form[data-preview-url] re-renders as you type;
 * - confirmations: forms with data-confirm ask first;
 * - the e-mail parts of the template form show only for e-mail templates. */
'use strict';
(function () {
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  /* ---- batch progress ---- */
  function poll(box) {
    var url = box.getAttribute('data-progress-url');
    var wasRunning = box.getAttribute('data-status') === 'STARTED';
    function tick() {
      fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
        .then(function (p) {
          var bar = $('[data-k="bar"]', box);
          if (bar) bar.value = p.percent;
          Object.keys(p.fields || {}).forEach(function (k) {
            $all('[data-k="' + k + '"]', box).forEach(function (el) { el.textContent = p.fields[k]; });
          });
          var badge = $('.badge', box);
          if (badge) {
            badge.textContent = p.status_label;
            badge.className = 'badge s-' + String(p.status).toLowerCase();
            badge.setAttribute('data-status', p.status);
          }
          box.setAttribute('data-status', p.status);
          box.setAttribute('data-polled', String(Number(box.getAttribute('data-polled') || 0) + 1));
          if (p.done) {
            /* the run page also lists failures and sums: load it once more */
            if (wasRunning && box.hasAttribute('data-reload')) window.location.reload();
            return;
          }
          setTimeout(tick, 1000);
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    setTimeout(tick, 500);
  }

  /* ---- template form ---- */
  function showParts(form) {
    var ch = form.elements.channel;
    if (!ch) return;
    var email = ch.value === 'EMAIL';
    $all('[data-part="subject"], [data-part="body_html"]', form).forEach(function (el) { el.hidden = !email; });
  }

  function setError(form, field, message) {
    $all('.err-slot', form).forEach(function (slot) { slot.textContent = ''; });
    if (!message) return;
    var slot = $('.err-slot[data-slot="' + (field || '_form') + '"]', form) || $('.err-slot[data-slot="_form"]', form);
    if (!slot) return;
    var p = document.createElement('p');
    p.className = 'field-error';
    p.setAttribute('role', 'alert');
    p.textContent = message;
    slot.appendChild(p);
  }

  function livePreview(form) {
    var url = form.getAttribute('data-preview-url');
    var timer = null, seq = 0;
    function run() {
      var mine = ++seq;
      var body = new URLSearchParams(new FormData(form));
      body.delete('action');
      fetch(url, { method: 'POST', credentials: 'same-origin', body: body,
                   headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          if (mine !== seq) return;
          var none = $('#preview-none');
          if (!p.ok) { setError(form, p.error && p.error.field, p.error && p.error.message); return; }
          setError(form, null, null);
          if (none) none.hidden = true;
          $('#preview-kind').textContent = p.kind;
          $('#preview-bytes').textContent = Number(p.bytes).toLocaleString('ko-KR');
          var subj = $('#preview-subject');
          subj.textContent = p.subject || '';
          subj.hidden = !p.subject;
          $('#preview-text').textContent = p.text || '';
          var frame = $('#preview-html');
          frame.hidden = !p.html;
          frame.srcdoc = p.html || '';
          form.setAttribute('data-previewed', String(mine));
        })
        .catch(function () { /* keep the last preview */ });
    }
    function schedule() { clearTimeout(timer); timer = setTimeout(run, 300); }
    form.addEventListener('input', schedule);
    form.addEventListener('change', function () { showParts(form); schedule(); });
    showParts(form);
  }

  document.addEventListener('DOMContentLoaded', function () {
    $all('[data-progress-url]').forEach(function (box) {
      if (document.body.contains($('#failures'))) box.setAttribute('data-reload', '');
      poll(box);
    });
    var tf = $('#template-form[data-preview-url]');
    if (tf) livePreview(tf);
    $all('form[data-confirm]').forEach(function (f) {
      f.addEventListener('submit', function (e) {
        if (!window.confirm(f.getAttribute('data-confirm'))) e.preventDefault();
      });
    });
  });
})();
