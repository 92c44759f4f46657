"""Real services for the clients/Tempest suite: Keystone and Lifeboat processes.

`Keystone` runs a real Keystone (pip package `keystone`, in its own venv made by
scripts/setup-keystone.sh) on SQLite with fernet tokens, served by gunicorn on
127.0.0.1, and creates what the tests need: Lifeboat's service user, a `demo`
project with a manager, a member and a reader, and the compute (/v2.1) and
image (/image) endpoints in its catalog.

`Lifeboat` runs `lifeboat-all-in-one` from this venv with a generated config
file, either behind Keystone (auth_strategy = keystone) or on noauth2.

Run as a script to get both up by hand (prints clouds.yaml):
    .venv/bin/python -m tests.clients.services
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.prefix) / "bin"
KEYSTONE_VENV = Path(os.environ.get("LIFEBOAT_KEYSTONE_VENV", REPO / ".venv-keystone"))
PASSWORD = "secret"
REGION = "RegionOne"
# user -> (project, role); admin is Keystone's bootstrap admin in project admin.
USERS = {"manager": ("demo", "manager"), "member": ("demo", "member"),
         "reader": ("demo", "reader"), "member2": ("alt", "member")}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_answering(url, timeout=60.0, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status in (200, 300):
                    return
        except urllib.error.HTTPError as e:
            if e.code in (200, 300):
                return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %s; log:\n%s" % (
                url, proc.returncode, _tail(log)))
        if time.monotonic() > deadline:
            raise RuntimeError("%s did not answer within %.0fs; log:\n%s" % (
                url, timeout, _tail(log)))
        time.sleep(0.1)


def _tail(path, n=40):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except (OSError, TypeError):
        return "(no log)"


def _die_with_parent():
    """preexec_fn: SIGTERM this child when the test process dies, so a suite
    killed by its time budget leaves no Keystone or Lifeboat behind (Linux)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop(proc, timeout=15):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Keystone:
    """A real Keystone on 127.0.0.1:<port>; `url` is its /v3 endpoint."""

    def __init__(self, workdir, port=None):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.url = self.base + "/v3"
        self.proc = None
        self.conf = self.workdir / "keystone.conf"
        self.log = self.workdir / "keystone.log"
        self.ids = {}

    def _manage(self, *args):
        subprocess.run([str(KEYSTONE_VENV / "bin" / "keystone-manage"),
                        "--config-file", str(self.conf)] + list(args),
                       check=True, capture_output=True, text=True, timeout=300)

    def start(self):
        subprocess.run(["bash", str(REPO / "scripts" / "setup-keystone.sh"),
                        str(KEYSTONE_VENV)], check=True, timeout=600)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(
            "[DEFAULT]\nlog_file = %(log)s\n"
            "[database]\nconnection = sqlite:///%(dir)s/keystone.db\n"
            "[token]\nprovider = fernet\nexpiration = 7200\n"
            "[fernet_tokens]\nkey_repository = %(dir)s/fernet-keys\n"
            "[fernet_receipts]\nkey_repository = %(dir)s/fernet-keys\n"
            "[credential]\nkey_repository = %(dir)s/credential-keys\n"
            "[cache]\nenabled = true\nbackend = dogpile.cache.memory\n"
            "[identity]\npassword_hash_rounds = 4\n"
            % {"dir": self.workdir, "log": self.log})
        self._bootstrap_db()
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=str(self.conf))
        env.pop("PYTHONPATH", None)
        # Keystone's WSGI app parses sys.argv as its own options: hide
        # gunicorn's from it.
        (self.workdir / "keystone_app.py").write_text(
            "import sys\nargv, sys.argv = sys.argv, sys.argv[:1]\n"
            "from keystone.wsgi.api import application  # noqa: E402,F401\n"
            "sys.argv = argv\n")
        with open(self.workdir / "gunicorn.log", "ab") as out:
            self.proc = subprocess.Popen(
                # One synchronous worker: Keystone on SQLite fails concurrent
                # writes with "database is locked".
                [str(KEYSTONE_VENV / "bin" / "gunicorn"), "--bind",
                 "127.0.0.1:%d" % self.port, "--workers", "1",
                 "--timeout", "120", "--log-level", "warning",
                 "--chdir", str(self.workdir), "keystone_app:application"],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(self.workdir),
                start_new_session=True, preexec_fn=_die_with_parent)
        wait_answering(self.url, 90, self.proc, self.workdir / "gunicorn.log")
        return self

    def _bootstrap_db(self):
        """db_sync + key setup + bootstrap, from a per-venv template when possible.

        db_sync is most of Keystone's start-up time, so the migrated, bootstrapped
        database and keys are kept beside the venv and copied; the endpoints
        bootstrap made point at the template's port and are replaced later.
        """
        template = KEYSTONE_VENV / "template"
        marker = template / "ready"
        if not marker.exists():
            tmp = Path(tempfile.mkdtemp(prefix="template-", dir=str(KEYSTONE_VENV)))
            conf = self.conf.read_text().replace(str(self.workdir), str(tmp))
            (tmp / "keystone.conf").write_text(conf)
            manage = [str(KEYSTONE_VENV / "bin" / "keystone-manage"),
                      "--config-file", str(tmp / "keystone.conf")]
            user = ["--keystone-user", _user(), "--keystone-group", _group()]
            for args in (["db_sync"], ["fernet_setup"] + user,
                         ["credential_setup"] + user,
                         ["bootstrap", "--bootstrap-password", PASSWORD,
                          "--bootstrap-admin-url", "http://127.0.0.1:1/v3",
                          "--bootstrap-public-url", "http://127.0.0.1:1/v3",
                          "--bootstrap-internal-url", "http://127.0.0.1:1/v3",
                          "--bootstrap-region-id", REGION]):
                subprocess.run(manage + args, check=True, capture_output=True,
                               text=True, timeout=300)
            (tmp / "ready").write_text("ok")
            shutil.rmtree(template, ignore_errors=True)
            tmp.rename(template)
        shutil.copy(template / "keystone.db", self.workdir / "keystone.db")
        for keys in ("fernet-keys", "credential-keys"):
            shutil.copytree(template / keys, self.workdir / keys, dirs_exist_ok=True)

    def stop(self):
        _stop(self.proc)

    # --- identity set-up over the v3 API (admin password auth) ------------
    def session(self, user="admin", project="admin"):
        from keystoneauth1 import session
        from keystoneauth1.identity import v3
        auth = v3.Password(auth_url=self.url, username=user, password=PASSWORD,
                           project_name=project, user_domain_id="default",
                           project_domain_id="default")
        return session.Session(auth=auth)

    def setup_identity(self, lifeboat_base, network_url=None):
        """Users, projects, roles, and the catalog pointing at `lifeboat_base`
        (and at `network_url` for the network service, if given)."""
        s = self.session()
        get = lambda path: s.get(self.url + path).json()  # noqa: E731
        post = lambda path, body: s.post(self.url + path, json=body).json()  # noqa: E731
        roles = {r["name"]: r["id"] for r in get("/roles")["roles"]}
        for name in ("admin", "manager", "member", "reader", "service"):
            if name not in roles:
                roles[name] = post("/roles", {"role": {"name": name}})["role"]["id"]
        projects = {p["name"]: p["id"] for p in get("/projects")["projects"]}
        for name in ("service", "demo", "alt"):
            if name not in projects:
                projects[name] = post("/projects", {"project": {
                    "name": name, "domain_id": "default"}})["project"]["id"]
        users = {u["name"]: u["id"] for u in get("/users")["users"]}

        def user(name, project, role_names):
            if name not in users:
                users[name] = post("/users", {"user": {
                    "name": name, "password": PASSWORD, "domain_id": "default",
                    "default_project_id": projects[project]}})["user"]["id"]
            for role in role_names:
                s.put(self.url + "/projects/%s/users/%s/roles/%s" % (
                    projects[project], users[name], roles[role]))
        user("lifeboat", "service", ["admin", "service"])
        for name, (project, role) in USERS.items():
            user(name, project, [role])
        # Catalog: replace the identity endpoints bootstrap made (template port),
        # add compute and image.
        services = {sv["type"]: sv["id"] for sv in get("/services")["services"]}
        for ep in get("/endpoints")["endpoints"]:
            s.delete(self.url + "/endpoints/" + ep["id"])
        catalog = [("identity", "keystone", self.url),
                   ("compute", "nova", lifeboat_base + "/v2.1"),
                   ("image", "glance", lifeboat_base + "/image")]
        if network_url:
            catalog.append(("network", "neutron", network_url))
        for stype, name, url in catalog:
            if stype not in services:
                services[stype] = post("/services", {"service": {
                    "type": stype, "name": name}})["service"]["id"]
            for interface in ("public", "internal", "admin"):
                post("/endpoints", {"endpoint": {
                    "service_id": services[stype], "interface": interface,
                    "url": url, "region_id": REGION}})
        self.ids = {"projects": projects, "users": users, "roles": roles}
        return self.ids

    def token(self, user="admin", project="admin"):
        return self.session(user, project).get_token()


class NetworkStub:
    """Stands in for Neutron in Keystone's catalog (Tempest), and for an identity
    version document (OSC without Keystone).

    `url`/identity/v3 answers a v3 version document: OSC with `auth_type:
    admin_token` discovers the identity API version even when it never calls
    it, and fails on Lifeboat's compute version document.

    Lifeboat has no network service. Tempest with [service_available] neutron
    = True and [auth] create_isolated_networks = False makes one network call
    in the tests this suite runs: when it deletes a dynamic project it lists
    the project's `default` security group to delete it. This answers that
    list with no groups, and 404 to anything else.
    """

    def __init__(self):
        import http.server
        import threading
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                path = self.path.split("?")[0].rstrip("/")
                if path.endswith("/security-groups"):
                    return self._answer(200, {"security_groups": []})
                if path == "/identity/v3":
                    return self._answer(200, {"version": {
                        "id": "v3.14", "status": "stable",
                        "updated": "2020-04-07T00:00:00Z",
                        "links": [{"rel": "self", "href": stub.url + "/identity/v3/"}],
                        "media-types": [{"base": "application/json", "type":
                                         "application/vnd.openstack.identity-v3+json"}]}})
                return self._answer(404, {"NeutronError": {
                    "type": "HTTPNotFound", "message": "No network service here",
                    "detail": ""}})

            do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _user():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def _group():
    import grp
    return grp.getgrgid(os.getgid()).gr_name


def authtoken_options(keystone):
    """Lifeboat's [keystone_authtoken] section for `keystone` (the service
    user setup_identity creates), as every OpenStack service configures it."""
    return {
        "www_authenticate_uri": keystone.url,
        "auth_url": keystone.url, "auth_type": "password",
        "username": "lifeboat", "password": PASSWORD,
        "project_name": "service", "user_domain_name": "Default",
        "project_domain_name": "Default", "region_name": REGION,
        "service_token_roles_required": "true",
    }


class Lifeboat:
    """`lifeboat-all-in-one` with a generated config file (keystone or noauth2)."""

    def __init__(self, workdir, hosts=("host1", "host2"), keystone=None, port=None,
                 **sections):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.hosts = list(hosts)
        self.keystone = keystone
        self.sections = sections
        self.proc = None
        self.conf = self.workdir / "lifeboat.conf"
        self.log = self.workdir / "lifeboat.log"

    def config_text(self):
        sections = {
            "DEFAULT": {"state_path": str(self.workdir / "state"),
                        "report_interval": 1, "host": "controller"},
            "api": {"listen": "127.0.0.1", "port": self.port,
                    "auth_strategy": "keystone" if self.keystone else "noauth2"},
            "all_in_one": {"compute_hosts": ",".join(self.hosts)},
        }
        if self.keystone:
            sections["keystone_authtoken"] = authtoken_options(self.keystone)
        for name, values in self.sections.items():
            sections.setdefault(name, {}).update(values)
        lines = []
        for name, values in sections.items():
            lines.append("[%s]" % name)
            lines.extend("%s = %s" % (k, v) for k, v in values.items())
            lines.append("")
        return "\n".join(lines)

    def launch(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self.config_text())
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "lifeboat-all-in-one"), "--config-file", str(self.conf)],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(self.workdir),
                start_new_session=True, preexec_fn=_die_with_parent)
        return self

    def wait(self):
        wait_answering(self.base + "/v2.1/", 90, self.proc, self.log)
        return self

    def start(self):
        return self.launch().wait()

    def wait_computes(self, token, timeout=60):
        """Wait until every compute host is an up, enabled hypervisor."""
        deadline = time.monotonic() + timeout
        while True:
            status, _, body = self.request("GET", "/v2.1/os-hypervisors/detail", token)
            up = [h for h in (body or {}).get("hypervisors", [])
                  if h.get("state") == "up"] if status == 200 else []
            if len(up) >= len(self.hosts):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("computes not up: %s %s" % (status, body))
            time.sleep(0.2)

    def stop(self):
        _stop(self.proc, timeout=40)

    # --- raw HTTP -------------------------------------------------------
    def request(self, method, path, token, body=None, version=None, headers=None):
        """(status, headers, parsed body or text) of one request."""
        h = {"X-Auth-Token": token} if token else {}
        if version:
            h["OpenStack-API-Version"] = "compute %s" % version
            h["X-OpenStack-Nova-API-Version"] = version
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, rh, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, rh, raw = e.code, e.headers, e.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return status, rh, parsed


def clouds_yaml(keystone, lifeboat_noauth=None, identity_url=None, extra=None):
    """clouds.yaml text: one cloud per Keystone user, plus `noauth` (and the
    noauth2 Lifeboats in `extra`, {cloud name: Lifeboat})."""
    out = ["clouds:"]
    for name, project in [("admin", "admin")] + [(u, p) for u, (p, _) in USERS.items()]:
        out += ["  %s:" % name,
                "    auth:",
                "      auth_url: %s" % keystone.url,
                "      username: %s" % name,
                "      password: %s" % PASSWORD,
                "      project_name: %s" % project,
                "      user_domain_name: Default",
                "      project_domain_name: Default",
                "    region_name: %s" % REGION,
                "    identity_api_version: 3"]
    noauth = dict(extra or {})
    if lifeboat_noauth is not None:
        noauth = dict(noauth=lifeboat_noauth, **noauth)
    for cloud, lifeboat in noauth.items():
        base = lifeboat.base
        out += ["  %s:" % cloud,
                "    auth_type: admin_token",
                "    auth:",
                "      endpoint: %s/v2.1" % base,
                "      token: \"admin:admin\"",
                "    compute_endpoint_override: %s/v2.1" % base,
                "    image_endpoint_override: %s/image" % base]
        if identity_url:
            out += ["    identity_endpoint_override: %s" % identity_url]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    work = Path(tempfile.mkdtemp(prefix="lifeboat-clients-"))
    ks = Keystone(work / "keystone").start()
    lb = Lifeboat(work / "lifeboat", keystone=ks)
    ks.setup_identity(lb.base)
    lb.start()
    (work / "clouds.yaml").write_text(clouds_yaml(ks))
    print("Keystone %s, Lifeboat %s; OS_CLIENT_CONFIG_FILE=%s/clouds.yaml (clouds: "
          "admin, manager, member, reader, member2); Ctrl-C stops" % (
              ks.url, lb.base, work), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        lb.stop()
        ks.stop()
