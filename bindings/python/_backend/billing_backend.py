"""A minimal in-tree PEP 517 build backend for the `billing` package.

Why not setuptools: pip builds in an isolated environment and would first
download the backend named in pyproject.toml; this machine (and many build
hosts) cannot reach PyPI.  The package is pure Python, so a wheel is just a
zip of billing/*.py plus three metadata files, which the standard library
writes.  Hooks: build_wheel, build_sdist, build_editable (PEP 660), their
get_requires_* (nothing), prepare_metadata_for_build_wheel.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "billing"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)   # reproducible archives


def _project():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        raw = fh.read()
    try:
        import tomllib                      # Python >= 3.11
        return tomllib.loads(raw.decode("utf-8"))["project"]
    except ImportError:
        # Older Pythons: the few "key = value" lines of [project] we use.
        text = raw.decode("utf-8")
        section = text.split("[project]", 1)[1].split("\n[", 1)[0]
        proj = {}
        for key in ("name", "version", "description", "readme", "requires-python"):
            m = re.search(r'^%s\s*=\s*"([^"]*)"' % re.escape(key), section, re.M)
            if m:
                proj[key] = m.group(1)
        proj["classifiers"] = re.findall(r'^\s*"([^"]+ :: [^"]+)",?\s*$', section, re.M)
        m = re.search(r'^license\s*=\s*\{\s*text\s*=\s*"([^"]*)"', section, re.M)
        if m:
            proj["license"] = {"text": m.group(1)}
        return proj


def _names():
    p = _project()
    return p["name"], p["version"]


def _dist_info():
    name, version = _names()
    return "%s-%s.dist-info" % (name.replace("-", "_"), version)


def _metadata():
    p = _project()
    lines = ["Metadata-Version: 2.1", "Name: " + p["name"], "Version: " + p["version"]]
    if p.get("description"):
        lines.append("Summary: " + p["description"])
    if isinstance(p.get("license"), dict) and p["license"].get("text"):
        lines.append("License: " + p["license"]["text"])
    if p.get("requires-python"):
        lines.append("Requires-Python: " + p["requires-python"])
    for c in p.get("classifiers", []):
        lines.append("Classifier: " + c)
    body = ""
    readme = p.get("readme")
    if isinstance(readme, str) and os.path.isfile(os.path.join(ROOT, readme)):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as fh:
            body = "\n" + fh.read()
    return ("\n".join(lines) + "\n" + body).encode("utf-8")


WHEEL_FILE = (b"Wheel-Version: 1.0\nGenerator: billing_backend\nRoot-Is-Purelib: true\n"
              b"Tag: py3-none-any\n")


def _package_files():
    out = []
    for base, dirs, files in os.walk(os.path.join(ROOT, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py") or f == "py.typed":
                full = os.path.join(base, f)
                out.append((os.path.relpath(full, ROOT).replace(os.sep, "/"), full))
    return out


def _digest(data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=" + d


def _write_wheel(directory, entries):
    """entries: [(archive name, bytes)] → the wheel's file name."""
    name, version = _names()
    dist = _dist_info()
    entries = list(entries) + [(dist + "/METADATA", _metadata()),
                               (dist + "/WHEEL", WHEEL_FILE)]
    record = "".join("%s,%s,%d\n" % (n, _digest(d), len(d)) for n, d in entries)
    record += dist + "/RECORD,,\n"
    entries.append((dist + "/RECORD", record.encode()))
    filename = "%s-%s-py3-none-any.whl" % (name.replace("-", "_"), version)
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in entries:
            info = zipfile.ZipInfo(n, ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, d)
    return filename


def _read(path):
    with open(path, "rb") as fh:
        return fh.read()


# ---------------------------------------------------------------- PEP 517 --

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist = _dist_info()
    os.makedirs(os.path.join(metadata_directory, dist), exist_ok=True)
    with open(os.path.join(metadata_directory, dist, "METADATA"), "wb") as fh:
        fh.write(_metadata())
    with open(os.path.join(metadata_directory, dist, "WHEEL"), "wb") as fh:
        fh.write(WHEEL_FILE)
    return dist


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(n, _read(p)) for n, p in _package_files()])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a wheel holding only a .pth that puts this directory on sys.path."""
    return _write_wheel(wheel_directory, [("_billing_editable.pth", (ROOT + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    name, version = _names()
    base = "%s-%s" % (name, version)
    filename = base + ".tar.gz"
    files = [("pyproject.toml", os.path.join(ROOT, "pyproject.toml"))]
    for extra in ("README.md",):
        if os.path.isfile(os.path.join(ROOT, extra)):
            files.append((extra, os.path.join(ROOT, extra)))
    files.append(("_backend/billing_backend.py", os.path.abspath(__file__)))
    files += _package_files()
    ex = os.path.join(ROOT, "examples")
    if os.path.isdir(ex):
        files += [("examples/" + f, os.path.join(ex, f)) for f in sorted(os.listdir(ex))
                  if f.endswith(".py")]

    def add(tf, arcname, data):
        info = tarfile.TarInfo(base + "/" + arcname)
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        tf.addfile(info, io.BytesIO(data))

    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for arcname, path in files:
            add(tf, arcname, _read(path))
        add(tf, "PKG-INFO", _metadata())
    return filename
